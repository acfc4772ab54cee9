"""Vocabulary, lexicons and patterns the domain loads once: data, edited without code."""
