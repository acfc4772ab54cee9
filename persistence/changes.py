"""Hearing about configuration changes as they commit: PostgreSQL LISTEN/NOTIFY.

The ``config_changed`` trigger (migration 0011) sends a notice naming the table, the tenant and,
for a channel, its public id, in the transaction that changes the row, so it is delivered on
commit and never for a rolled-back change. ``ConfigChanges`` holds one connection listening for
them and hands each to ``on_change``. When that connection is lost it reconnects, and since
notices sent meanwhile are gone, it calls ``on_reset`` (drop everything cached) once listening
again. The caches' TTLs stay as the safety net for whatever this misses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import structlog
from sqlalchemy import select, true
from sqlalchemy.engine import make_url

from persistence.statements import Compiled

NOTIFY_CHANNEL = "frontdesk_config"
# LISTEN needs a connection of its own, on the driver (SQLAlchemy has no LISTEN): the probe
# that keeps it honest runs there too.
_PROBE = Compiled.of(select(true()))
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class ConfigChange:
    """A committed change of ``table`` for ``tenant_id`` (``public_id``: the channel's)."""

    table: str
    tenant_id: UUID
    public_id: UUID | None = None


def parse_notice(payload: str) -> ConfigChange | None:
    """The change a notice names; None for a notice that is not one of ours."""
    try:
        values = json.loads(payload)
        public_id = values.get("public_id")
        return ConfigChange(
            table=str(values["table"]),
            tenant_id=UUID(values["tenant_id"]),
            public_id=UUID(public_id) if public_id else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def listener_dsn(database_url: str) -> str:
    """A plain libpq URL for asyncpg from the SQLAlchemy URL the settings carry."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class ConfigChanges:
    """One listening connection with reconnection; ``start`` returns once it listens."""

    def __init__(
        self,
        database_url: str,
        *,
        on_change: Callable[[ConfigChange], None],
        on_reset: Callable[[], None],
        retry_seconds: float = 1.0,
        probe_seconds: float = 15.0,
        first_connect_seconds: float = 10.0,
    ) -> None:
        self._dsn = listener_dsn(database_url)
        self._on_change = on_change
        self._on_reset = on_reset
        self._retry_seconds = retry_seconds
        self._probe_seconds = probe_seconds
        self._first_connect_seconds = first_connect_seconds
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None

    @property
    def backend_pid(self) -> int | None:
        """The listening connection's server process (None while reconnecting)."""
        connection = self._connection
        if connection is None or connection.is_closed():
            return None
        return int(connection.get_server_pid())

    async def start(self) -> None:
        """Start listening; waits a few seconds for the first connection, then goes on trying
        in the background (the TTLs cover the time until it succeeds)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="config-changes")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), self._first_connect_seconds)

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._disconnect()

    async def _run(self) -> None:
        while True:
            try:
                lost = await self._connect()
                await self._watch(lost)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database is away: try again, drop what we cached
                log.warning("config change listener lost", error_type=type(exc).__name__)
            self._listening.clear()
            await self._disconnect()
            await asyncio.sleep(self._retry_seconds)

    async def _connect(self) -> asyncio.Event:
        lost = asyncio.Event()
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "frontdesk-config-listener"}
        )
        self._connection = connection
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(NOTIFY_CHANNEL, self._notified)
        # Whatever changed while nobody listened is unknown: forget it all.
        self._on_reset()
        self._listening.set()
        return lost

    async def _watch(self, lost: asyncio.Event) -> None:
        """Until the connection ends; a probe now and then catches a silently dead one."""
        while not lost.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._probe_seconds)
                return
            await asyncio.wait_for(self._connection.fetchval(_PROBE.sql), self._probe_seconds)

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 5)

    def _notified(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        change = parse_notice(payload)
        if change is not None:
            self._on_change(change)
