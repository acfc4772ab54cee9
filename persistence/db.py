"""Engines and sessions: asyncpg connections whose ``search_path`` is the frontdesk schema."""

from __future__ import annotations

import re

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine as _create_async_engine

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class InvalidSchemaNameError(ValueError):
    """The schema name is not a plain lower-case identifier (it is spliced into DDL)."""


def check_schema_name(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise InvalidSchemaNameError(f"schema name {schema!r} must match {_SCHEMA_NAME.pattern}")
    return schema


def asyncpg_url(url: str) -> str:
    """The URL with the asyncpg driver, whichever driver (or none) it named."""
    return make_url(url).set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def create_engine(
    url: str,
    *,
    schema: str,
    pool_size: int = 10,
    max_overflow: int | None = None,
    pre_ping: bool = False,
) -> AsyncEngine:
    """An asyncpg engine whose every connection resolves tables in ``schema``.

    ``pre_ping`` checks each connection as it leaves the pool (with asyncpg that costs a
    BEGIN, a ``;`` and a ROLLBACK: three round trips per transaction). Off by default: a
    connection that died while pooled fails its first statement instead, SQLAlchemy then
    invalidates the pool, and the caller's retry (the runner's, or ``persistence.retry``)
    runs again on fresh connections. Turn it on behind a proxy that drops idle connections.

    ``search_path`` is a server setting of the connection (asyncpg ``server_settings``), so it
    holds for every transaction and survives ``DISCARD ALL`` / pool resets.
    """
    check_schema_name(schema)
    return _create_async_engine(
        asyncpg_url(url),
        pool_size=pool_size,
        max_overflow=pool_size if max_overflow is None else max_overflow,
        pool_pre_ping=pre_ping,
        # A failed statement's error would otherwise quote its parameters (guest text,
        # ciphertext, tokens) into every log line and exception report that carries it.
        hide_parameters=True,
        connect_args={
            "server_settings": {"search_path": schema, "application_name": "frontdesk"},
        },
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: rows read in a unit of work stay usable after it commits.
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)
