"""Operator commands: ``frontdesk status`` and ``frontdesk dlq list|show|replay|purge``."""
