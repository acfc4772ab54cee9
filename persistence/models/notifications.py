"""Getting a human: staff notifications (re-alerted until acknowledged) and SLAs."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlalchemy import ARRAY, Index, SmallInteger, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, one_of, tenant_fk, tenant_keys
from persistence.models.conversations import PRIORITIES

NOTIFICATION_TYPES = (
    "negative_sentiment",
    "escalation",
    "low_confidence",
    "human_requested",
    "sla_breach",
    "delivery_failed",
    "delivery_uncertain",
    # A guest wrote while staff have the conversation taken over (the assistant stays quiet).
    "guest_message",
    # The tenant's language model kept failing (guests got the template answers meanwhile).
    "assistant_failing",
    # A guest identity's flood of messages stopped the auto-replies (domain.rate_limits).
    "rate_limited",
    # A condition trigger's action (its detail says which trigger and why).
    "condition_trigger",
)


class NotificationStatus(StrEnum):
    """``pending`` until the first alert went out, ``sent`` while re-alerted, then
    ``acknowledged``."""

    PENDING = "pending"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"


class AlertDeliveryStatus(StrEnum):
    """One alert to one target: ``sending`` (committed before the call), then ``sent``,
    ``failed`` (refused; tried again) or ``uncertain`` (the outcome was lost; never re-sent)."""

    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNCERTAIN = "uncertain"


NOTIFICATION_STATUSES = tuple(NotificationStatus)
# The statuses of a notification still re-alerted (the due sweep's partial index names them).
ALERTING_STATUSES = (NotificationStatus.PENDING, NotificationStatus.SENT)
ALERT_DELIVERY_STATUSES = tuple(AlertDeliveryStatus)
SLA_KINDS = ("first_response", "next_response", "resolution")
SLA_CLOCKS = ("calendar", "business_hours")


class StaffNotification(Base, TenantOwned):
    """An alert to staff about a conversation; re-sent at ``next_alert_at`` until acknowledged."""

    __tablename__ = "staff_notifications"
    __table_args__ = tenant_keys(
        # One notification per message and reason: a repeated escalation finds the first one.
        Index(
            "uq_staff_notifications_message_type",
            "tenant_id",
            "message_id",
            "type",
            unique=True,
            postgresql_where=text("message_id IS NOT NULL"),
        ),
        # The dispatcher's sweep across tenants for alerts that are due.
        Index(
            "ix_staff_notifications_due",
            "next_alert_at",
            postgresql_where=text("status IN ('pending', 'sent')"),
        ),
        Index("ix_staff_notifications_tenant_id_conversation_id", "tenant_id", "conversation_id"),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("message_id", "messages", ondelete="SET NULL"),
        tenant_fk("acknowledged_by", "users", ondelete="SET NULL"),
        one_of("type", NOTIFICATION_TYPES),
        one_of("status", NOTIFICATION_STATUSES),
        check("alerts_sent", "alerts_sent >= 0"),
        check("acknowledged_fields", "status <> 'acknowledged' OR acknowledged_at IS NOT NULL"),
    )

    conversation_id: Mapped[UUID]
    message_id: Mapped[UUID | None]
    type: Mapped[str]
    status: Mapped[str] = mapped_column(server_default=text("'pending'"))
    urgent: Mapped[bool] = mapped_column(server_default=text("false"))
    detail: Mapped[str] = mapped_column(server_default=text("''"))
    alerts_sent: Mapped[int] = mapped_column(server_default=text("0"))
    next_alert_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[UUID | None]
    # The alert target whose link was used (its name), for targets that are no staff user.
    acknowledged_via: Mapped[str | None]
    last_error: Mapped[str | None]


class StaffAlertDelivery(Base, TenantOwned):
    """One alert of a notification to one target at one rung of its ladder (``attempt``).

    Written ``sending`` and committed before the target is called, its outcome in a second
    transaction: a row still ``sending`` after a crash is marked ``uncertain``, never re-sent.
    Only a ``failed`` row (the target refused, nothing went out) is tried again.
    """

    __tablename__ = "staff_alert_deliveries"
    __table_args__ = tenant_keys(
        UniqueConstraint(
            "tenant_id",
            "notification_id",
            "target_id",
            "attempt",
            name="uq_staff_alert_deliveries_attempt",
        ),
        tenant_fk("notification_id", "staff_notifications"),
        tenant_fk("target_id", "staff_alert_targets"),
        one_of("status", ALERT_DELIVERY_STATUSES),
        check("attempt", "attempt >= 1"),
        check("tries", "tries >= 1"),
    )

    notification_id: Mapped[UUID]
    target_id: Mapped[UUID]
    attempt: Mapped[int]
    status: Mapped[str] = mapped_column(server_default=text("'sending'"))
    tries: Mapped[int] = mapped_column(server_default=text("1"))
    error: Mapped[str | None]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class SlaPolicy(Base, TenantOwned):
    """Response and resolution targets, on a calendar or business-hours clock, for the
    conversations it applies to (an empty criterion matches any; the first active policy by
    ``position`` that matches wins). Its terms are copied onto a conversation when it applies."""

    __tablename__ = "sla_policies"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "name"),
        check("first_response_minutes", "first_response_minutes > 0"),
        check("resolution_minutes", "resolution_minutes IS NULL OR resolution_minutes > 0"),
        check(
            "next_response_minutes", "next_response_minutes IS NULL OR next_response_minutes > 0"
        ),
        one_of("clock", SLA_CLOCKS),
        check(
            "priorities", f"priorities <@ ARRAY[{', '.join(repr(p) for p in PRIORITIES)}]::text[]"
        ),
        check("position", "position BETWEEN 0 AND 10000"),
        check("warning_percent", "warning_percent IS NULL OR warning_percent BETWEEN 1 AND 99"),
    )

    name: Mapped[str]
    first_response_minutes: Mapped[int]
    next_response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int | None]
    clock: Mapped[str] = mapped_column(server_default=text("'calendar'"))
    priorities: Mapped[list[str]] = mapped_column(server_default=text("'{}'::text[]"))
    channel_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PG_UUID(as_uuid=True)), server_default=text("'{}'::uuid[]")
    )
    team_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PG_UUID(as_uuid=True)), server_default=text("'{}'::uuid[]")
    )
    property_ids: Mapped[list[UUID]] = mapped_column(
        ARRAY(PG_UUID(as_uuid=True)), server_default=text("'{}'::uuid[]")
    )
    position: Mapped[int] = mapped_column(server_default=text("100"))
    # Staff are warned when this share of a target has run (None: no warning).
    warning_percent: Mapped[int | None] = mapped_column(SmallInteger)
    # Whether an assistant's reply satisfies a response target (by default only staff's do).
    bot_reply_counts: Mapped[bool] = mapped_column(server_default=text("false"))
    active: Mapped[bool] = mapped_column(server_default=text("true"))


class SlaViolation(Base, TenantOwned):
    """A target a conversation missed: one per conversation, policy and kind, written once."""

    __tablename__ = "sla_violations"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "conversation_id", "policy_id", "kind"),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("policy_id", "sla_policies"),
        one_of("kind", SLA_KINDS),
    )

    conversation_id: Mapped[UUID]
    policy_id: Mapped[UUID]
    kind: Mapped[str]
    due_at: Mapped[datetime]
    breached_at: Mapped[datetime]


class SlaWarning(Base, TenantOwned):
    """A target nearly run out (``warning_percent`` of it): one per conversation, policy, kind."""

    __tablename__ = "sla_warnings"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "conversation_id", "policy_id", "kind"),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("policy_id", "sla_policies"),
        one_of("kind", SLA_KINDS),
    )

    conversation_id: Mapped[UUID]
    policy_id: Mapped[UUID]
    kind: Mapped[str]
    due_at: Mapped[datetime]
    warned_at: Mapped[datetime]
