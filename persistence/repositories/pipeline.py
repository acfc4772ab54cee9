"""The pipeline's bookkeeping: the consumers' inbox, the outbox, webhook dedup, provider audit."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import asyncpg
from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events import Event
from persistence.models import OutboxRow
from persistence.repositories.base import NotFoundError, Repository
from persistence.statements import Sql


class TenantMismatchError(ValueError):
    """An event of one tenant was staged in another tenant's unit of work."""


_RECORD_INBOX = (
    "INSERT INTO processed_events (tenant_id, consumer, event_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING id"
)
_RECORD_WEBHOOK = (
    "INSERT INTO webhook_events (tenant_id, provider, provider_event_id, channel_id, payload)"
    " VALUES ($1, $2, $3, $4, $5::jsonb)"
    " ON CONFLICT (tenant_id, provider, provider_event_id) DO NOTHING RETURNING id"
)
_ADD_COMMS_EVENT = (
    "INSERT INTO comms_events (tenant_id, channel_id, message_id, provider, direction, kind,"
    " provider_message_id, http_status, error, payload)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)"
)
_WRITE_OUTBOX = (
    "INSERT INTO outbox (id, tenant_id, event_type, payload) VALUES ($1, $2, $3, $4::jsonb)"
)


class InboxRepository(Repository):
    async def record(self, *, consumer: str, event_id: UUID) -> bool:
        """Record that ``consumer`` handled ``event_id``; False if it already had."""
        driver = await self._driver()
        return await driver.fetchval(_RECORD_INBOX, self.tenant_id, consumer, event_id) is not None


class OutboxRepository(Repository):
    """Events staged in a unit of work are written together, in one round trip, as it commits."""

    def __init__(
        self,
        session: AsyncSession,
        tenant_id: UUID,
        emitted: list[Event],
        sql: Sql | None = None,
    ) -> None:
        super().__init__(session, tenant_id, sql)
        self._emitted = emitted
        self._unwritten: list[Event] = []

    async def add(self, *, event: Event) -> None:
        """Stage ``event`` and write its row now (it is published only if the transaction
        commits)."""
        self.stage(event=event)
        await self.write_staged()

    def stage(self, *, event: Event) -> None:
        """Stage without a round trip: the row is written by ``write_staged`` (on commit)."""
        if event.tenant_id != self.tenant_id:
            raise TenantMismatchError(
                f"event {event.event_id} belongs to tenant {event.tenant_id}, not {self.tenant_id}"
            )
        self._unwritten.append(event)
        self._emitted.append(event)

    async def write_staged(self) -> None:
        if not self._unwritten:
            return
        rows = [
            (e.event_id, self.tenant_id, e.routing_key, e.model_dump_json())
            for e in self._unwritten
        ]
        driver = await self._driver()
        await driver.executemany(_WRITE_OUTBOX, rows)
        self._unwritten.clear()

    async def mark_published(self, *, event_ids: Sequence[UUID]) -> int:
        """Mark this tenant's outbox rows published; returns how many were still unpublished."""
        if not event_ids:
            return 0
        result = await self.session.execute(
            update(OutboxRow)
            .where(
                OutboxRow.tenant_id == self.tenant_id,
                OutboxRow.id.in_(list(event_ids)),
                OutboxRow.published_at.is_(None),
            )
            .values(published_at=func.now())
            .returning(OutboxRow.id)
        )
        return len(result.all())


class WebhookEventRepository(Repository):
    async def record(
        self,
        *,
        provider: str,
        provider_event_id: str,
        channel_id: UUID,
        payload: Mapping[str, Any],
    ) -> bool:
        """Store a provider event once; False if it was stored before (a duplicate webhook)."""
        driver = await self._driver()
        try:
            stored = await driver.fetchval(
                _RECORD_WEBHOOK,
                self.tenant_id,
                provider,
                provider_event_id,
                channel_id,
                json.dumps(dict(payload)),
            )
        except asyncpg.ForeignKeyViolationError as exc:
            if "channel" in (exc.constraint_name or ""):
                raise NotFoundError(f"channel {channel_id} does not exist") from exc
            raise
        return stored is not None


class CommsEventRepository(Repository):
    async def add(
        self,
        *,
        channel_id: UUID,
        provider: str,
        direction: str,
        kind: str,
        payload: Mapping[str, Any],
        message_id: UUID | None = None,
        provider_message_id: str | None = None,
        http_status: int | None = None,
        error: str | None = None,
    ) -> None:
        """Append one entry to the provider traffic audit trail."""
        driver = await self._driver()
        await driver.execute(
            _ADD_COMMS_EVENT,
            self.tenant_id,
            channel_id,
            message_id,
            provider,
            direction,
            kind,
            provider_message_id,
            http_status,
            error,
            json.dumps(dict(payload)),
        )
