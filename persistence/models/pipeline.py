"""The event pipeline's bookkeeping: webhook dedup, provider audit, outbox and inbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, one_of, tenant_fk, tenant_keys
from persistence.models.channels import PROVIDERS
from persistence.models.conversations import DIRECTIONS


class WebhookEvent(Base, TenantOwned):
    """One provider event, stored once: the UNIQUE key is the intake's idempotency check."""

    __tablename__ = "webhook_events"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "provider", "provider_event_id"),
        tenant_fk("channel_id", "channels"),
        one_of("provider", PROVIDERS),
    )

    provider: Mapped[str]
    provider_event_id: Mapped[str]
    channel_id: Mapped[UUID]
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    payload: Mapped[dict[str, Any]]


class CommsEvent(Base, TenantOwned):
    """The audit trail of provider traffic: webhooks in, API calls out, status callbacks."""

    __tablename__ = "comms_events"
    __table_args__ = tenant_keys(
        Index("ix_comms_events_tenant_id_created_at", "tenant_id", "created_at"),
        Index("ix_comms_events_tenant_id_message_id", "tenant_id", "message_id"),
        tenant_fk("channel_id", "channels"),
        tenant_fk("message_id", "messages", ondelete="SET NULL"),
        one_of("provider", PROVIDERS),
        one_of("direction", DIRECTIONS),
        one_of("kind", ("message", "status", "send", "alert")),
        check("http_status", "http_status IS NULL OR http_status BETWEEN 100 AND 599"),
    )

    channel_id: Mapped[UUID]
    message_id: Mapped[UUID | None]
    provider: Mapped[str]
    direction: Mapped[str]
    kind: Mapped[str]
    provider_message_id: Mapped[str | None]
    http_status: Mapped[int | None]
    error: Mapped[str | None]
    payload: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))


class OutboxRow(Base, TenantOwned):
    """An event written in the same transaction as its effects; ``id`` is the event's id."""

    __tablename__ = "outbox"
    __table_args__ = tenant_keys(
        # The relay's sweep: only the unpublished rows are indexed.
        Index("ix_outbox_unpublished", "created_at", postgresql_where=text("published_at IS NULL")),
    )

    event_type: Mapped[str]
    payload: Mapped[dict[str, Any]]
    published_at: Mapped[datetime | None]


class ProcessedEvent(Base, TenantOwned):
    """The consumers' inbox: a row per (consumer, event) whose effects are committed."""

    __tablename__ = "processed_events"
    __table_args__ = tenant_keys(UniqueConstraint("consumer", "event_id"))

    consumer: Mapped[str]
    event_id: Mapped[UUID]
    processed_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
