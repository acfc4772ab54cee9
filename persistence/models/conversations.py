"""Conversations with a guest on one channel, and their messages."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Index, Interval, Numeric, SmallInteger, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, one_of, tenant_fk, tenant_keys


class ConversationStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class SenderType(StrEnum):
    GUEST = "guest"
    STAFF = "staff"
    BOT = "bot"
    SYSTEM = "system"


class MessageStatus(StrEnum):
    """Where a message is. Inbound rows are ``delivered`` (to frontdesk) when stored.

    ``cancelled``: a drafted reply dropped before sending (staff answered or took over);
    ``sending``: the dispatcher committed an attempt and is calling the provider;
    ``uncertain``: that call's outcome was lost and the provider could not say (staff told;
    never sent again).
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNCERTAIN = "uncertain"


CONVERSATION_STATUSES = tuple(ConversationStatus)
OPEN_STATUSES = (
    ConversationStatus.NEW, ConversationStatus.OPEN, ConversationStatus.PENDING,
    ConversationStatus.SNOOZED,
)  # fmt: skip
PRIORITIES = ("low", "normal", "high", "urgent")
DIRECTIONS = tuple(Direction)
SENDER_TYPES = tuple(SenderType)
CONTENT_TYPES = ("text", "image", "audio", "video", "document", "location", "contact", "template")
MESSAGE_STATUSES = tuple(MessageStatus)
AI_DECISIONS = ("reply", "escalate", "skip")
SENTIMENT_LABELS = ("positive", "neutral", "negative")
# What the report indexes carry besides their keys, so a period is read from the index alone.
REPORTED_CONVERSATION_COLUMNS = [
    "channel_id", "team_id", "assignee_id", "first_response_at", "closed_at",
    "sla_first_response_minutes", "sla_next_response_minutes", "sla_resolution_minutes",
]  # fmt: skip
REPORTED_MESSAGE_COLUMNS = ["conversation_id", "channel_id", "ai_decision"]


class Conversation(Base, TenantOwned):
    """At most one open conversation per guest and channel (a partial unique index)."""

    __tablename__ = "conversations"
    __table_args__ = tenant_keys(
        Index(
            "uq_conversations_open_per_guest_channel",
            "tenant_id",
            "guest_id",
            "channel_id",
            unique=True,
            postgresql_where=text("status NOT IN ('resolved', 'closed')"),
        ),
        Index(
            "ix_conversations_tenant_id_status_last_message_at",
            "tenant_id",
            "status",
            "last_message_at",
        ),
        Index("ix_conversations_tenant_id_assignee_id", "tenant_id", "assignee_id"),
        # The scheduler's wake-up sweep across tenants (0019).
        Index(
            "ix_conversations_snoozed_until",
            "snoozed_until",
            postgresql_where=text("status = 'snoozed'"),
        ),
        # The reports: one tenant's conversations by when the guest first wrote (0017).
        Index(
            "ix_conversations_reports",
            "tenant_id",
            "first_message_at",
            postgresql_include=REPORTED_CONVERSATION_COLUMNS,
        ),
        # The routing queue: conversations waiting for an agent, oldest first.
        Index(
            "ix_conversations_routing_queue",
            "tenant_id",
            "routing_requested_at",
            postgresql_where=text("assignee_id IS NULL AND routing_requested_at IS NOT NULL"),
        ),
        tenant_fk("guest_id", "guests"),
        tenant_fk("channel_id", "channels"),
        tenant_fk("assignee_id", "users", ondelete="SET NULL"),
        tenant_fk("team_id", "teams", ondelete="SET NULL"),
        tenant_fk("reservation_id", "reservations", ondelete="SET NULL"),
        tenant_fk("sla_policy_id", "sla_policies", ondelete="SET NULL"),
        # The SLA sweeper's look across tenants: conversations with a warning or breach due.
        Index(
            "ix_conversations_sla_next_check_at",
            "sla_next_check_at",
            postgresql_where=text("sla_next_check_at IS NOT NULL"),
        ),
        one_of("status", CONVERSATION_STATUSES),
        one_of("priority", PRIORITIES),
        one_of("sla_clock", ("calendar", "business_hours"), nullable=True),
    )

    guest_id: Mapped[UUID]
    channel_id: Mapped[UUID]
    status: Mapped[str] = mapped_column(server_default=text("'new'"))
    priority: Mapped[str] = mapped_column(server_default=text("'normal'"))
    assignee_id: Mapped[UUID | None]
    team_id: Mapped[UUID | None]
    # The stay the guest wrote about, linked when a reservation matches at first contact.
    reservation_id: Mapped[UUID | None]
    subject: Mapped[str | None]
    human_takeover: Mapped[bool] = mapped_column(server_default=text("false"))
    snoozed_until: Mapped[datetime | None]
    first_message_at: Mapped[datetime | None]
    last_message_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    assigned_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Service levels: the policy applied and its terms, copied when it applied (editing the
    # policy never rewrites them); the current deadline of each target (None when met, not
    # running or paused), when it warns, and what was left of it when the clock paused.
    sla_policy_id: Mapped[UUID | None]
    sla_first_response_minutes: Mapped[int | None]
    sla_next_response_minutes: Mapped[int | None]
    sla_resolution_minutes: Mapped[int | None]
    sla_clock: Mapped[str | None]
    sla_warning_percent: Mapped[int | None] = mapped_column(SmallInteger)
    sla_bot_reply_counts: Mapped[bool] = mapped_column(server_default=text("false"))
    first_response_due_at: Mapped[datetime | None]
    next_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    sla_first_response_warn_at: Mapped[datetime | None]
    sla_next_response_warn_at: Mapped[datetime | None]
    sla_resolution_warn_at: Mapped[datetime | None]
    sla_first_response_left: Mapped[timedelta | None] = mapped_column(Interval)
    sla_next_response_left: Mapped[timedelta | None] = mapped_column(Interval)
    sla_resolution_left: Mapped[timedelta | None] = mapped_column(Interval)
    # When the sweeper looks at it next (the earliest warning or deadline not yet recorded).
    sla_next_check_at: Mapped[datetime | None]
    # A person chose the assignee (the router never changes it); waiting for an agent since
    # (null when not waiting); the escalation's topic, a skill the agent needs.
    assignment_manual: Mapped[bool] = mapped_column(server_default=text("false"))
    routing_requested_at: Mapped[datetime | None]
    routing_topic: Mapped[str | None]


class Message(Base, TenantOwned):
    __tablename__ = "messages"
    __table_args__ = tenant_keys(
        Index(
            "ix_messages_tenant_id_conversation_id_created_at",
            "tenant_id",
            "conversation_id",
            "created_at",
        ),
        # The dispatcher's sweep across tenants: only pending outbound rows are indexed.
        Index(
            "ix_messages_due_outbound",
            "send_after",
            postgresql_where=text("direction = 'outbound' AND status = 'pending'"),
        ),
        # The recovery sweep: sends a crash left between attempt and outcome.
        Index(
            "ix_messages_sending",
            "send_started_at",
            postgresql_where=text("direction = 'outbound' AND status = 'sending'"),
        ),
        Index(
            "uq_messages_provider_message_id",
            "tenant_id",
            "channel_id",
            "provider_message_id",
            unique=True,
            postgresql_where=text("provider_message_id IS NOT NULL"),
        ),
        # The reports: one tenant's inbound messages by arrival, with the decision (0017).
        Index(
            "ix_messages_inbound_reports",
            "tenant_id",
            "created_at",
            postgresql_include=REPORTED_MESSAGE_COLUMNS,
            postgresql_where=text("direction = 'inbound'"),
        ),
        # A staff reply's Idempotency-Key: a retried POST finds the message it made.
        Index(
            "uq_messages_idempotency_key",
            "tenant_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("channel_id", "channels"),
        tenant_fk("in_reply_to_id", "messages", ondelete="SET NULL"),
        tenant_fk("sender_user_id", "users", ondelete="SET NULL"),
        tenant_fk("template_id", "templates", ondelete="SET NULL"),
        one_of("direction", DIRECTIONS),
        one_of("sender_type", SENDER_TYPES),
        one_of("content_type", CONTENT_TYPES),
        one_of("status", MESSAGE_STATUSES),
        one_of("sentiment_label", SENTIMENT_LABELS, nullable=True),
        one_of("ai_decision", AI_DECISIONS, nullable=True),
        check("sentiment_score", "sentiment_score IS NULL OR sentiment_score BETWEEN -1 AND 1"),
        # Outbound rows always say when they may go (now, for an immediate send); inbound never.
        check("send_after_outbound_only", "(direction = 'outbound') = (send_after IS NOT NULL)"),
    )

    conversation_id: Mapped[UUID]
    channel_id: Mapped[UUID]
    direction: Mapped[str]
    sender_type: Mapped[str]
    sender_user_id: Mapped[UUID | None]
    content_type: Mapped[str] = mapped_column(server_default=text("'text'"))
    content: Mapped[str | None]
    subject: Mapped[str | None]
    sentiment_score: Mapped[Decimal | None] = mapped_column(Numeric(4, 3))
    sentiment_label: Mapped[str | None]
    requires_attention: Mapped[bool] = mapped_column(server_default=text("false"))
    status: Mapped[str] = mapped_column(server_default=text("'pending'"))
    provider_message_id: Mapped[str | None]
    # The inbound event that created this row (the ingress's dedup key), for tracing.
    source_event_id: Mapped[UUID | None]
    # When the guest last edited this inbound message (``content`` is the edited text).
    edited_at: Mapped[datetime | None]
    send_after: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]
    error: Mapped[str | None]
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    # The provider call in flight (or whose outcome was lost): committed before the call.
    send_attempt_id: Mapped[UUID | None]
    send_started_at: Mapped[datetime | None]
    in_reply_to_id: Mapped[UUID | None]
    template_id: Mapped[UUID | None]
    # What the assistant decided for an inbound message, and why (auto-reply's audit trail).
    ai_decision: Mapped[str | None]
    ai_decision_reason: Mapped[str | None]
    ai_decided_at: Mapped[datetime | None]
    idempotency_key: Mapped[str | None]
    # A bot question's options ({"value", "label"} each): buttons where the channel has them.
    options: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)


class MediaFile(Base, TenantOwned):
    """An attachment of a message: where it is, what it is."""

    __tablename__ = "media_files"
    __table_args__ = tenant_keys(
        Index("ix_media_files_tenant_id_message_id", "tenant_id", "message_id"),
        tenant_fk("message_id", "messages"),
        check("size_bytes", "size_bytes IS NULL OR size_bytes >= 0"),
    )

    message_id: Mapped[UUID]
    url: Mapped[str]
    mime_type: Mapped[str | None]
    file_name: Mapped[str | None]
    size_bytes: Mapped[int | None]
    caption: Mapped[str | None]


class Tag(Base, TenantOwned):
    __tablename__ = "tags"
    __table_args__ = tenant_keys(Index("uq_tags_tenant_id_name", "tenant_id", "name", unique=True))

    name: Mapped[str]
    color: Mapped[str | None]


class ConversationTag(Base, TenantOwned):
    __tablename__ = "conversation_tags"
    __table_args__ = tenant_keys(
        Index(
            "uq_conversation_tags_conversation_tag",
            "tenant_id",
            "conversation_id",
            "tag_id",
            unique=True,
        ),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("tag_id", "tags"),
    )

    conversation_id: Mapped[UUID]
    tag_id: Mapped[UUID]


class ConversationNote(Base, TenantOwned):
    """An internal note staff leave on a conversation; guests never see it."""

    __tablename__ = "conversation_notes"
    __table_args__ = tenant_keys(
        Index("ix_conversation_notes_tenant_id_conversation_id", "tenant_id", "conversation_id"),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("author_id", "users", ondelete="SET NULL"),
    )

    conversation_id: Mapped[UUID]
    author_id: Mapped[UUID | None]
    body: Mapped[str]


class ConversationEvent(Base, TenantOwned):
    """The audit trail of a conversation: status, assignment, takeover and priority changes."""

    __tablename__ = "conversation_events"
    __table_args__ = tenant_keys(
        Index(
            "ix_conversation_events_tenant_id_conversation_id",
            "tenant_id",
            "conversation_id",
            "created_at",
        ),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("actor_user_id", "users", ondelete="SET NULL"),
        one_of("actor_type", SENDER_TYPES),
    )

    conversation_id: Mapped[UUID]
    kind: Mapped[str]
    actor_type: Mapped[str]
    actor_user_id: Mapped[UUID | None]
    from_value: Mapped[str | None]
    to_value: Mapped[str | None]
