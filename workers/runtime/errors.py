"""The errors a handler raises to tell the runner what to do with a delivery.

The runner alone acks, retries and dead-letters: a handler only raises. Anything that is not a
``PermanentError`` is worth another try, including exceptions nobody classified.
"""

from __future__ import annotations

from enum import StrEnum


class HandlerError(Exception):
    """Base of the errors a handler raises on purpose."""


class RetryableError(HandlerError):
    """Try again later (next retry tier): a dependency was down, a lock timed out."""


class PermanentError(HandlerError):
    """Trying again cannot help: dead-letter the event at once, for an operator to look at."""


class DeadLetterReason(StrEnum):
    """Values of the ``x-frontdesk-reason`` header on a dead letter."""

    PERMANENT = "permanent"
    UNDECODABLE = "undecodable"
    SCHEMA = "schema"
    UNEXPECTED_TYPE = "unexpected_type"
    UNKNOWN_TENANT = "unknown_tenant"
    # The database refused a value the event carries (SQLSTATE class 22): never retried.
    INVALID_DATA = "invalid_data"
    RETRIES_EXHAUSTED = "retries_exhausted"
    # Set by the broker, not the runner: the quorum queue's delivery limit ran out (workers
    # kept dying while holding the message).
    DELIVERY_LIMIT = "delivery_limit"
