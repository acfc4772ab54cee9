"""Scheduled messages (one per reservation and rule) and guests' opt-outs of proactive messages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, one_of, tenant_fk, tenant_keys
from persistence.models.channels import PROVIDERS


class ScheduleStatus(StrEnum):
    """``scheduled``: waiting for due_at; ``sent``: handed to the dispatcher as an outbound
    message; ``skipped`` / ``cancelled`` / ``failed``: never sent, ``reason`` says why."""

    SCHEDULED = "scheduled"
    SENT = "sent"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"
    FAILED = "failed"


SCHEDULE_STATUSES = tuple(ScheduleStatus)


class ScheduledMessage(Base, TenantOwned):
    """What one rule (a time-based trigger) sends for one reservation, and when."""

    __tablename__ = "scheduled_messages"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "reservation_id", "trigger_id"),
        # The schedulers' sweep across tenants: only waiting rows are indexed.
        Index(
            "ix_scheduled_messages_due",
            "due_at",
            postgresql_where=text("status = 'scheduled'"),
        ),
        Index(
            "uq_scheduled_messages_message_id",
            "tenant_id",
            "message_id",
            unique=True,
            postgresql_where=text("message_id IS NOT NULL"),
        ),
        tenant_fk("reservation_id", "reservations"),
        tenant_fk("trigger_id", "triggers"),
        tenant_fk("template_id", "templates", ondelete="SET NULL"),
        tenant_fk("message_id", "messages", ondelete="SET NULL"),
        tenant_fk("channel_id", "channels", ondelete="SET NULL"),
        tenant_fk("whatsapp_template_id", "whatsapp_templates", ondelete="SET NULL"),
        tenant_fk("edited_by", "users", ondelete="SET NULL"),
        one_of("status", SCHEDULE_STATUSES),
    )

    reservation_id: Mapped[UUID]
    trigger_id: Mapped[UUID]
    template_id: Mapped[UUID | None]
    rule_key: Mapped[str]
    status: Mapped[str] = mapped_column(server_default=text("'scheduled'"))
    due_at: Mapped[datetime]
    # Why the row was skipped, cancelled, failed or held (quiet hours); None when plain.
    reason: Mapped[str | None]
    # Staff changed its text or time: re-planning leaves it alone.
    edited_by_staff: Mapped[bool] = mapped_column(server_default=text("false"))
    edited_by: Mapped[UUID | None]
    custom_body: Mapped[str | None]
    # Once handed over: the outbound message, its channel, and the WhatsApp template it needs.
    message_id: Mapped[UUID | None]
    channel_id: Mapped[UUID | None]
    whatsapp_template_id: Mapped[UUID | None]
    whatsapp_params: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    handled_at: Mapped[datetime | None]


class OptOut(Base, TenantOwned):
    """A guest who answered STOP on a channel kind: no proactive messages there until START."""

    __tablename__ = "opt_outs"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "guest_id", "kind"),
        tenant_fk("guest_id", "guests"),
        tenant_fk("message_id", "messages", ondelete="SET NULL"),
        one_of("kind", PROVIDERS),
    )

    guest_id: Mapped[UUID]
    kind: Mapped[str]
    keyword: Mapped[str]
    # The guest's message that said it.
    message_id: Mapped[UUID | None]
    opted_out_at: Mapped[datetime]
