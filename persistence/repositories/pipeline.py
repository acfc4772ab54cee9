"""The pipeline's bookkeeping: the consumers' inbox, the outbox, webhook dedup, provider audit."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast
from uuid import UUID

import asyncpg
from sqlalchemy import ARRAY, Table, Text, func, select, update
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from domain.events import Event
from persistence.models import CommsEvent, OutboxRow, ProcessedEvent, WebhookEvent
from persistence.repositories.base import NotFoundError, Repository
from persistence.statements import Compiled, Sql, param

processed_events = cast(Table, ProcessedEvent.__table__)
webhook_events = cast(Table, WebhookEvent.__table__)
comms_events = cast(Table, CommsEvent.__table__)
outbox = cast(Table, OutboxRow.__table__)


class TenantMismatchError(ValueError):
    """An event of one tenant was staged in another tenant's unit of work."""


# Every delivery, inbound webhook and provider call makes one of these. A row's id is the
# server's, as the column's server default makes it (the model's Python default would make it a
# parameter).
_RECORD_INBOX = Compiled.of(
    insert(processed_events)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        consumer=param("consumer"),
        event_id=param("event_id"),
    )
    .on_conflict_do_nothing(
        index_elements=[processed_events.c.consumer, processed_events.c.event_id]
    )
    .returning(processed_events.c.id)
)
_RECORD_WEBHOOK = Compiled.of(
    insert(webhook_events)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        provider=param("provider"),
        provider_event_id=param("provider_event_id"),
        channel_id=param("channel_id"),
        payload=param("payload"),
    )
    .on_conflict_do_nothing(
        index_elements=[
            webhook_events.c.tenant_id,
            webhook_events.c.provider,
            webhook_events.c.provider_event_id,
        ]
    )
    .returning(webhook_events.c.id)
)
_ADD_COMMS_EVENT = Compiled.of(
    insert(comms_events)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        channel_id=param("channel_id"),
        message_id=param("message_id"),
        provider=param("provider"),
        direction=param("direction"),
        kind=param("kind"),
        provider_message_id=param("provider_message_id"),
        http_status=param("http_status"),
        error=param("error"),
        payload=param("payload"),
    )
    .inline()  # nothing to read back
)
# A unit of work's events in one statement, one row per array element. The payloads are the
# events' own JSON text (pydantic's), cast by the server, not parsed and encoded again here.
_STAGED = (
    func.unnest(
        param("event_ids", ARRAY(PG_UUID(as_uuid=True))),
        param("event_types", ARRAY(Text())),
        param("payloads", ARRAY(Text())),
    )
    .table_valued("id", "event_type", "payload")
    .render_derived(name="staged")
)
_WRITE_OUTBOX = Compiled.of(
    insert(outbox).from_select(
        ["id", "tenant_id", "event_type", "payload"],
        select(
            _STAGED.c.id,
            param("tenant_id", PG_UUID(as_uuid=True)),
            _STAGED.c.event_type,
            _STAGED.c.payload.cast(JSONB),
        ),
    )
)


class InboxRepository(Repository):
    async def record(self, *, consumer: str, event_id: UUID) -> bool:
        """Record that ``consumer`` handled ``event_id``; False if it already had."""
        recorded = await self.sql.value(
            _RECORD_INBOX, tenant_id=self.tenant_id, consumer=consumer, event_id=event_id
        )
        return recorded is not None


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
        staged = self._unwritten
        await self.sql.run(
            _WRITE_OUTBOX,
            tenant_id=self.tenant_id,
            event_ids=[e.event_id for e in staged],
            event_types=[e.routing_key for e in staged],
            payloads=[e.model_dump_json() for e in staged],
        )
        staged.clear()

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
        try:
            stored = await self.sql.value(
                _RECORD_WEBHOOK,
                tenant_id=self.tenant_id,
                provider=provider,
                provider_event_id=provider_event_id,
                channel_id=channel_id,
                payload=dict(payload),
            )
        except IntegrityError as exc:
            refused = exc.orig.__cause__ if exc.orig is not None else None
            if isinstance(refused, asyncpg.ForeignKeyViolationError) and "channel" in (
                refused.constraint_name or ""
            ):
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
        await self.sql.run(
            _ADD_COMMS_EVENT,
            tenant_id=self.tenant_id,
            channel_id=channel_id,
            message_id=message_id,
            provider=provider,
            direction=direction,
            kind=kind,
            provider_message_id=provider_message_id,
            http_status=http_status,
            error=error,
            payload=dict(payload),
        )
