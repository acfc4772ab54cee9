"""Which failures are the database being unreachable (worth retrying) rather than a bug."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

# SQLSTATE classes: 08 connection exception, 57P admin shutdown / crash / cannot connect now.
_CONNECTION_SQLSTATES = ("08", "57P")


def is_connection_error(exc: BaseException) -> bool:
    """True for a lost or refused connection; never for a constraint or a query error."""
    if isinstance(exc, OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated or isinstance(exc, InterfaceError):
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        if sqlstate.startswith(_CONNECTION_SQLSTATES):
            return True
        cause = exc.orig.__cause__ if exc.orig is not None else None
        return isinstance(exc, OperationalError) and isinstance(cause, OSError | TimeoutError)
    return False


def connection_retrying(attempts: int) -> AsyncRetrying:
    """Retry a connection-level failure with backoff (0.1 s doubling, at most 2 s per wait)."""
    return AsyncRetrying(
        retry=retry_if_exception(is_connection_error),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=0.1, max=2.0),
        reraise=True,
    )
