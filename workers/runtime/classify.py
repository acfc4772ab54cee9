"""Sorting exceptions a handler let through: a database that went away, a tenant that never was.

Drivers wrap one another's errors (asyncpg inside SQLAlchemy's DBAPI wrappers), so both walk
the cause/context chain.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
from sqlalchemy import exc as sa_exc

from persistence.retry import is_connection_error

# Raised by asyncpg itself when it is used without SQLAlchemy's wrappers around it.
_DRIVER_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    sa_exc.TimeoutError,  # no connection free in the pool
)


class DatabaseUnavailable(Exception):
    """Opening a unit of work failed for want of a connection (raised by the runner, whose
    driver lets a refused connection through as a bare ``OSError``)."""


_DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    DatabaseUnavailable,
    sa_exc.SQLAlchemyError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)
FOREIGN_KEY_VIOLATION = "23503"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def is_connection_failure(exc: BaseException) -> bool:
    """The database (or the network to it) failed, not the statement: worth retrying without
    spending one of the event's attempts. Only failures that came through the database driver
    count, so a handler's own network call to a provider that is down still spends attempts."""
    chain = list(_chain(exc))
    if not any(isinstance(error, _DATABASE_ERRORS) for error in chain):
        return False
    return any(
        is_connection_error(error) or isinstance(error, _DRIVER_CONNECTION_ERRORS)
        for error in chain
    )


def is_unknown_tenant(exc: BaseException) -> bool:
    """A row could not reference its tenant: the event names a tenant that does not exist."""
    for error in _chain(exc):
        constraint = getattr(error, "constraint_name", None) or ""
        if getattr(error, "sqlstate", None) == FOREIGN_KEY_VIOLATION and constraint.endswith(
            "_tenant_id_tenants"
        ):
            return True
    return False


# SQLSTATE class 22, "data exception": a value the database refuses (a NUL or an untranslatable
# character in text, a number out of range, an invalid date). The same event fails the same way
# on every try.
_DATA_EXCEPTION_CLASS = "22"


def is_data_error(exc: BaseException) -> bool:
    """The database refused a value the event carries: retrying cannot help.

    Covers the server's class 22 errors and asyncpg's own refusal to encode an argument (a lone
    surrogate in a string), which asyncpg raises as an ``InterfaceError`` subclass; checked
    before ``is_connection_failure``, which would otherwise take it for a lost connection."""
    for error in _chain(exc):
        if isinstance(error, asyncpg.exceptions._base.DataError):
            return True
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_DATA_EXCEPTION_CLASS):
            return True
    return False


# Deadlock detected; could not serialize: the transaction lost a race, the events did nothing.
_CONFLICT_STATES = frozenset({"40P01", "40001"})


def is_transaction_conflict(exc: BaseException) -> bool:
    """The transaction lost a race with another one (a deadlock, a serialization failure);
    running it again is expected to succeed."""
    return any(getattr(error, "sqlstate", None) in _CONFLICT_STATES for error in _chain(exc))
