"""Cross-tenant system work through the narrow SECURITY DEFINER functions (no BYPASSRLS).

Used by the outbox relay, the dispatcher and the schedulers; one gateway is one transaction,
so the row locks ``claim_outbox`` takes hold until ``commit``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.retry import connection_retrying


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

    async def __aenter__(self) -> SystemGateway:
        async for attempt in connection_retrying(self._attempts):
            with attempt:
                session = self._sessionmaker()
                try:
                    # No tenant: the functions are the only way to see across tenants.
                    await session.execute(text("SELECT set_config('app.tenant_id', '', true)"))
                except BaseException:
                    await session.close()
                    raise
                self._session = session
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._require()
        try:
            await session.rollback()
        finally:
            await session.close()
            self._session = None

    async def claim_outbox(self, batch: int) -> list[OutboxRecord]:
        """Lock up to ``batch`` unpublished rows, oldest first, skipping rows others hold."""
        rows = await self._require().execute(
            text("SELECT id, tenant_id, event_type, payload, created_at FROM claim_outbox(:batch)"),
            {"batch": batch},
        )
        return [OutboxRecord(*row) for row in rows]

    async def mark_outbox_published(self, ids: Sequence[UUID]) -> int:
        if not ids:
            return 0
        count = await self._require().scalar(
            text("SELECT mark_outbox_published(CAST(:ids AS uuid[]))"), {"ids": list(ids)}
        )
        return int(count or 0)

    async def due_outbound(self, batch: int) -> list[DueMessage]:
        rows = await self._require().execute(
            text("SELECT tenant_id, message_id FROM due_outbound(:batch)"), {"batch": batch}
        )
        return [DueMessage(*row) for row in rows]

    async def stale_outbound(self, *, started_before: datetime, batch: int) -> list[StaleSend]:
        """Sends whose attempt began before ``started_before`` and has no recorded outcome."""
        rows = await self._require().execute(
            text(
                "SELECT tenant_id, message_id, attempt_id"
                " FROM stale_outbound(:started_before, :batch)"
            ),
            {"started_before": started_before, "batch": batch},
        )
        return [StaleSend(*row) for row in rows]

    async def due_notifications(self, batch: int) -> list[DueNotification]:
        rows = await self._require().execute(
            text("SELECT tenant_id, notification_id FROM due_notifications(:batch)"),
            {"batch": batch},
        )
        return [DueNotification(*row) for row in rows]

    async def due_scheduled_messages(
        self, *, now: datetime, batch: int
    ) -> list[DueScheduledMessage]:
        """Scheduled messages waiting with ``due_at <= now``, earliest first (not locked: the
        scheduler claims each in its tenant's transaction)."""
        rows = await self._require().execute(
            text(
                "SELECT tenant_id, scheduled_message_id FROM due_scheduled_messages(:now, :batch)"
            ),
            {"now": now, "batch": batch},
        )
        return [DueScheduledMessage(*row) for row in rows]

    async def due_sla_checks(self, *, now: datetime, batch: int) -> list[DueSlaCheck]:
        """Conversations with an SLA warning or deadline due by ``now``, earliest first (not
        locked: the sweeper claims each in its tenant's transaction)."""
        rows = await self._require().execute(
            text("SELECT tenant_id, conversation_id FROM due_sla_checks(:now, :batch)"),
            {"now": now, "batch": batch},
        )
        return [DueSlaCheck(*row) for row in rows]

    async def due_trigger_tenants(self, *, now: datetime, departures: bool) -> list[UUID]:
        """Tenants with condition-trigger work for the scheduler: firings waiting until ``now``
        and, with ``departures``, triggers on a day after check-out."""
        rows = await self._require().execute(
            text("SELECT tenant_id FROM due_trigger_tenants(:now, :departures)"),
            {"now": now, "departures": departures},
        )
        return [row[0] for row in rows]

    async def due_expired_dialogues(self, *, now: datetime, batch: int) -> list[DueSnooze]:
        """Active bot dialogues whose inactivity timeout passed by ``now``, earliest first (not
        locked: the scheduler expires each under its conversation's dialogue lock)."""
        rows = await self._require().execute(
            text("SELECT tenant_id, conversation_id FROM due_expired_dialogues(:now, :batch)"),
            {"now": now, "batch": batch},
        )
        return [DueSnooze(*row) for row in rows]

    async def due_snoozes(self, *, now: datetime, batch: int) -> list[DueSnooze]:
        """Snoozed conversations whose ``snoozed_until`` has passed by ``now``, earliest first
        (not locked: the scheduler wakes each in its tenant's transaction)."""
        rows = await self._require().execute(
            text("SELECT tenant_id, conversation_id FROM due_snoozed_conversations(:now, :batch)"),
            {"now": now, "batch": batch},
        )
        return [DueSnooze(*row) for row in rows]

    async def tenant_ids(self) -> list[UUID]:
        rows = await self._require().execute(text("SELECT tenant_ids()"))
        return [row[0] for row in rows]

    async def commit(self) -> None:
        await self._require().commit()

    def _require(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("the system gateway is used outside `async with`")
        return self._session
