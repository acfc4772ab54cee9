"""Cross-tenant system work through the narrow SECURITY DEFINER functions (no BYPASSRLS).

Used by the outbox relay, the dispatcher and the schedulers; one gateway is one transaction,
so the row locks ``claim_outbox`` takes hold until ``commit``.

The relay's and the dispatcher's statements run on every sweep (a few times a second): they
are compiled once (``persistence.statements``) and run on the gateway's own ``Sql``. The
schedulers' sweeps and the operator's commands go through the session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any
from uuid import UUID

from sqlalchemy import Boolean, DateTime, Integer, Text, column, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.retry import connection_retrying
from persistence.statements import Compiled, Sql, param

_UUID = PG_UUID(as_uuid=True)
_TIMESTAMP = DateTime(timezone=True)

# No tenant: row-level security shows no tenant's rows; the functions alone see across them.
_NO_TENANT = Compiled.of(select(func.set_config("app.tenant_id", "", true())))

_CLAIM_OUTBOX = Compiled.of(
    select(
        func.claim_outbox(param("batch", Integer)).table_valued(
            column("id", _UUID),
            column("tenant_id", _UUID),
            column("event_type", Text),
            column("payload", JSONB),
            column("created_at", _TIMESTAMP),
        )
    )
)
_MARK_OUTBOX_PUBLISHED = Compiled.of(select(func.mark_outbox_published(param("ids", ARRAY(_UUID)))))
_DUE_OUTBOUND = Compiled.of(
    select(
        func.due_outbound(param("batch", Integer)).table_valued(
            column("tenant_id", _UUID), column("message_id", _UUID)
        )
    )
)
_DUE_NOTIFICATIONS = Compiled.of(
    select(
        func.due_notifications(param("batch", Integer)).table_valued(
            column("tenant_id", _UUID), column("notification_id", _UUID)
        )
    )
)

# The sweeps of the scheduler and the recovery: through the session.
_STALE_OUTBOUND = select(
    func.stale_outbound(param("started_before", _TIMESTAMP), param("batch", Integer)).table_valued(
        column("tenant_id", _UUID), column("message_id", _UUID), column("attempt_id", _UUID)
    )
)
_DUE_SCHEDULED_MESSAGES = select(
    func.due_scheduled_messages(param("now", _TIMESTAMP), param("batch", Integer)).table_valued(
        column("tenant_id", _UUID), column("scheduled_message_id", _UUID)
    )
)
_DUE_SLA_CHECKS = select(
    func.due_sla_checks(param("now", _TIMESTAMP), param("batch", Integer)).table_valued(
        column("tenant_id", _UUID), column("conversation_id", _UUID)
    )
)
_DUE_TRIGGER_TENANTS = select(
    func.due_trigger_tenants(param("now", _TIMESTAMP), param("departures", Boolean)).table_valued(
        column("tenant_id", _UUID)
    )
)
_DUE_EXPIRED_DIALOGUES = select(
    func.due_expired_dialogues(param("now", _TIMESTAMP), param("batch", Integer)).table_valued(
        column("tenant_id", _UUID), column("conversation_id", _UUID)
    )
)
_DUE_SNOOZED_CONVERSATIONS = select(
    func.due_snoozed_conversations(param("now", _TIMESTAMP), param("batch", Integer)).table_valued(
        column("tenant_id", _UUID), column("conversation_id", _UUID)
    )
)
# A set-returning function of one scalar column: called in the select list, as before.
_TENANT_IDS = select(func.tenant_ids(type_=_UUID))


async def begin_without_tenant(session: AsyncSession) -> None:
    """Begin ``session``'s transaction with no tenant bound.

    The first statement goes through SQLAlchemy, whose driver adapter issues BEGIN with it (as
    the unit of work binds its tenant), so the compiled statements run on the driver after it
    are inside that transaction, and a broken pooled connection is seen and dropped here.
    """
    connection = await session.connection()
    await connection.exec_driver_sql(_NO_TENANT.sql)


@dataclass(frozen=True, slots=True)
class OutboxRecord:
    """An unpublished outbox row: the event's JSON and its routing key (``event_type``)."""

    id: UUID
    tenant_id: UUID
    event_type: str
    payload: dict[str, Any]
    created_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DueMessage:
    tenant_id: UUID
    message_id: UUID


@dataclass(frozen=True, slots=True)
class StaleSend:
    """An outbound message left ``sending`` (its attempt) longer than a send can take."""

    tenant_id: UUID
    message_id: UUID
    attempt_id: UUID


@dataclass(frozen=True, slots=True)
class DueNotification:
    tenant_id: UUID
    notification_id: UUID


@dataclass(frozen=True, slots=True)
class DueScheduledMessage:
    tenant_id: UUID
    scheduled_message_id: UUID


@dataclass(frozen=True, slots=True)
class DueSlaCheck:
    tenant_id: UUID
    conversation_id: UUID


@dataclass(frozen=True, slots=True)
class DueSnooze:
    """A conversation one of the scheduler's sweeps has to look at."""

    tenant_id: UUID
    conversation_id: UUID


class SystemGateway:
    """``async with uow_factory.system() as system:`` — rolls back unless ``commit`` was called."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *, attempts: int) -> None:
        self._sessionmaker = sessionmaker
        self._attempts = attempts
        self._session: AsyncSession | None = None
        self._sql: Sql | None = None

    async def __aenter__(self) -> SystemGateway:
        async for attempt in connection_retrying(self._attempts):
            with attempt:
                session = self._sessionmaker()
                try:
                    await begin_without_tenant(session)
                except BaseException:
                    await session.close()
                    raise
                self._session = session
        self._sql = Sql(self._require())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._require()
        try:
            if exc is None:
                await session.rollback()
            else:
                # The caller's error is the one to see, not a rollback failing after it on a
                # connection the same outage broke (the failed rollback drops the connection).
                with contextlib.suppress(Exception):
                    await session.rollback()
        finally:
            await session.close()
            self._session = self._sql = None

    async def claim_outbox(self, batch: int) -> list[OutboxRecord]:
        """Lock up to ``batch`` unpublished rows, oldest first, skipping rows others hold."""
        rows = await self._statements().rows(_CLAIM_OUTBOX, batch=batch)
        return [OutboxRecord(*row) for row in rows]

    async def mark_outbox_published(self, ids: Sequence[UUID]) -> int:
        if not ids:
            return 0
        count = await self._statements().value(_MARK_OUTBOX_PUBLISHED, ids=list(ids))
        return int(count or 0)

    async def due_outbound(self, batch: int) -> list[DueMessage]:
        rows = await self._statements().rows(_DUE_OUTBOUND, batch=batch)
        return [DueMessage(*row) for row in rows]

    async def stale_outbound(self, *, started_before: datetime, batch: int) -> list[StaleSend]:
        """Sends whose attempt began before ``started_before`` and has no recorded outcome."""
        rows = await self._require().execute(
            _STALE_OUTBOUND, {"started_before": started_before, "batch": batch}
        )
        return [StaleSend(*row) for row in rows]

    async def due_notifications(self, batch: int) -> list[DueNotification]:
        rows = await self._statements().rows(_DUE_NOTIFICATIONS, batch=batch)
        return [DueNotification(*row) for row in rows]

    async def due_scheduled_messages(
        self, *, now: datetime, batch: int
    ) -> list[DueScheduledMessage]:
        """Scheduled messages waiting with ``due_at <= now``, earliest first (not locked: the
        scheduler claims each in its tenant's transaction)."""
        rows = await self._require().execute(_DUE_SCHEDULED_MESSAGES, {"now": now, "batch": batch})
        return [DueScheduledMessage(*row) for row in rows]

    async def due_sla_checks(self, *, now: datetime, batch: int) -> list[DueSlaCheck]:
        """Conversations with an SLA warning or deadline due by ``now``, earliest first (not
        locked: the sweeper claims each in its tenant's transaction)."""
        rows = await self._require().execute(_DUE_SLA_CHECKS, {"now": now, "batch": batch})
        return [DueSlaCheck(*row) for row in rows]

    async def due_trigger_tenants(self, *, now: datetime, departures: bool) -> list[UUID]:
        """Tenants with condition-trigger work for the scheduler: firings waiting until ``now``
        and, with ``departures``, triggers on a day after check-out."""
        tenant_ids = await self._require().scalars(
            _DUE_TRIGGER_TENANTS, {"now": now, "departures": departures}
        )
        return list(tenant_ids)

    async def due_expired_dialogues(self, *, now: datetime, batch: int) -> list[DueSnooze]:
        """Active bot dialogues whose inactivity timeout passed by ``now``, earliest first (not
        locked: the scheduler expires each under its conversation's dialogue lock)."""
        rows = await self._require().execute(_DUE_EXPIRED_DIALOGUES, {"now": now, "batch": batch})
        return [DueSnooze(*row) for row in rows]

    async def due_snoozes(self, *, now: datetime, batch: int) -> list[DueSnooze]:
        """Snoozed conversations whose ``snoozed_until`` has passed by ``now``, earliest first
        (not locked: the scheduler wakes each in its tenant's transaction)."""
        rows = await self._require().execute(
            _DUE_SNOOZED_CONVERSATIONS, {"now": now, "batch": batch}
        )
        return [DueSnooze(*row) for row in rows]

    async def tenant_ids(self) -> list[UUID]:
        return list(await self._require().scalars(_TENANT_IDS))

    async def commit(self) -> None:
        await self._require().commit()

    def _require(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the system gateway is used outside `async with`")
        return self._session

    def _statements(self) -> Sql:
        """The transaction's compiled-statement runner (on the session's connection)."""
        self._require()
        assert self._sql is not None
        return self._sql
