"""What frontdesk sends on its own: templates, WhatsApp templates, canned responses, triggers."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Base,
    SoftDeleted,
    TenantOwned,
    check,
    one_of,
    tenant_fk,
    tenant_keys,
)
from persistence.models.channels import PROVIDERS

RULE_KEYS = ("T_MINUS_3", "T_MINUS_1", "DAY_OF")
WHATSAPP_CATEGORIES = ("marketing", "utility", "authentication")
APPROVAL_STATUSES = ("pending", "approved", "rejected", "paused", "disabled")
TRIGGER_KINDS = ("time_based", "condition_based")


class Template(Base, TenantOwned, SoftDeleted):
    """A message template per channel kind and rule: pre-arrival (T-3, T-1, day-of) or custom.

    ``rule_key`` is one of RULE_KEYS or ``custom:<name>``; one live template per tenant, channel
    kind, rule key and language. Editing bumps ``version``.
    """

    __tablename__ = "templates"
    __table_args__ = tenant_keys(
        Index(
            "uq_templates_live_rule",
            "tenant_id",
            "channel",
            "rule_key",
            "language",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        one_of("channel", PROVIDERS),
        check(
            "rule_key",
            "rule_key IN ('T_MINUS_3', 'T_MINUS_1', 'DAY_OF') OR rule_key ~ '^custom:[a-z0-9_-]+$'",
        ),
        check("version", "version > 0"),
    )

    channel: Mapped[str]
    rule_key: Mapped[str]
    subject: Mapped[str | None]
    body: Mapped[str]
    language: Mapped[str] = mapped_column(server_default=text("'en'"))
    version: Mapped[int] = mapped_column(server_default=text("1"))


class WhatsAppTemplate(Base, TenantOwned):
    """A template registered with WhatsApp (needed to write first, outside the 24-hour window)."""

    __tablename__ = "whatsapp_templates"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "channel_id", "name", "language"),
        tenant_fk("channel_id", "channels"),
        one_of("category", WHATSAPP_CATEGORIES),
        one_of("approval_status", APPROVAL_STATUSES),
    )

    channel_id: Mapped[UUID]
    name: Mapped[str]
    language: Mapped[str]
    category: Mapped[str]
    approval_status: Mapped[str] = mapped_column(server_default=text("'pending'"))
    body: Mapped[str]
    components: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    provider_template_id: Mapped[str | None]
    rejection_reason: Mapped[str | None]


class CannedResponse(Base, TenantOwned):
    """A reply staff insert by shortcut (``/wifi``)."""

    __tablename__ = "canned_responses"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "shortcut"),
        tenant_fk("created_by", "users", ondelete="SET NULL"),
        check("shortcut_format", "shortcut ~ '^/[a-z0-9_-]+$'"),
    )

    shortcut: Mapped[str]
    title: Mapped[str]
    body: Mapped[str]
    created_by: Mapped[UUID | None]


class Trigger(Base, TenantOwned):
    """When the scheduler sends a template: at a time relative to a stay, or on a condition.

    A condition trigger's ``conditions`` is ``domain.conditions``' language (an event, ALL /
    ANY / NONE conditions, actions); its ``template_id`` is the template its action sends, if
    any."""

    __tablename__ = "triggers"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "name"),
        tenant_fk("template_id", "templates"),
        tenant_fk("property_id", "properties"),
        one_of("kind", TRIGGER_KINDS),
        check("time_based_template", "kind <> 'time_based' OR template_id IS NOT NULL"),
        check("condition_event", "kind <> 'condition_based' OR conditions ? 'event'"),
    )

    name: Mapped[str]
    kind: Mapped[str]
    template_id: Mapped[UUID | None]
    # None: every property of the tenant.
    property_id: Mapped[UUID | None]
    conditions: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    active: Mapped[bool] = mapped_column(server_default=text("true"))


FIRING_STATUSES = ("waiting", "fired", "not_met")


class TriggerFiring(Base, TenantOwned):
    """A condition trigger's decision about one subject (a message, an escalation, a
    conversation, a stay): at most one per trigger and subject, so it acts once.

    ``waiting`` until ``due_at`` when the trigger looks later; then ``fired`` with each
    action's outcome, or ``not_met``. ``facts`` keeps what a later look needs of the event."""

    __tablename__ = "trigger_firings"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "trigger_id", "subject"),
        Index("ix_trigger_firings_due", "due_at", postgresql_where=text("status = 'waiting'")),
        Index(
            "ix_trigger_firings_tenant_id_trigger_id_created_at",
            "tenant_id",
            "trigger_id",
            "created_at",
        ),
        tenant_fk("trigger_id", "triggers"),
        tenant_fk("conversation_id", "conversations", ondelete="SET NULL"),
        tenant_fk("reservation_id", "reservations", ondelete="SET NULL"),
        tenant_fk("message_id", "messages", ondelete="SET NULL"),
        one_of("status", FIRING_STATUSES),
        check("waiting_due", "status <> 'waiting' OR due_at IS NOT NULL"),
    )

    trigger_id: Mapped[UUID]
    subject: Mapped[str]
    event: Mapped[str]
    status: Mapped[str]
    event_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    conversation_id: Mapped[UUID | None]
    reservation_id: Mapped[UUID | None]
    message_id: Mapped[UUID | None]
    facts: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    outcomes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    decided_at: Mapped[datetime | None]
