"""Condition triggers at work: deciding, acting, and the scheduler's sweep."""
