"""Channels (provider accounts bound to a property), staff alert targets and integrations.

Secrets are Fernet tokens (``persistence.crypto``): the columns never hold plaintext.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Numeric, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, one_of, tenant_fk, tenant_keys

PROVIDERS = ("green_api", "whatsapp_cloud", "twilio_sms", "telegram", "email")
WEBHOOK_STATUSES = ("ok", "failing", "unreachable")


class Channel(Base, TenantOwned):
    """A WhatsApp number, Twilio number, Telegram bot or mailbox of one property.

    ``public_id`` is the id in the webhook URL, so the internal id never leaves frontdesk.
    """

    __tablename__ = "channels"
    __table_args__ = tenant_keys(
        UniqueConstraint("public_id"),
        UniqueConstraint("tenant_id", "provider", "address"),
        tenant_fk("property_id", "properties"),
        one_of("provider", PROVIDERS),
        one_of("webhook_status", WEBHOOK_STATUSES, nullable=True),
        check(
            "sends_per_second",
            "sends_per_second IS NULL OR (sends_per_second > 0 AND sends_per_second <= 1000)",
        ),
    )

    property_id: Mapped[UUID]
    public_id: Mapped[UUID] = mapped_column(default=uuid4, server_default=text("gen_random_uuid()"))
    provider: Mapped[str]
    name: Mapped[str]
    # Phone number (E.164), bot username or e-mail address guests write to.
    address: Mapped[str]
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    # Fernet token of the JSON credentials (see domain.channels.ChannelRoute for the keys).
    credentials_encrypted: Mapped[str]
    webhook_secret_encrypted: Mapped[str | None]
    # Whether staff alerts may be sent through this channel (to a staff member's phone).
    staff_alerts: Mapped[bool] = mapped_column(server_default=text("false"))
    # The last webhook check at the provider: when, its outcome, and the provider's reason.
    webhook_last_checked_at: Mapped[datetime | None]
    webhook_status: Mapped[str | None]
    webhook_error: Mapped[str | None]
    # The channel's own send rate in place of the provider's limit (None: the provider's).
    sends_per_second: Mapped[Decimal | None] = mapped_column(Numeric(8, 3))


class StaffAlertTarget(Base, TenantOwned):
    """Where escalations go: a staff phone reached through a channel, or an HTTP webhook.

    A webhook target receives Slack-compatible JSON; its URL may embed a token, so it is
    encrypted like any other secret.
    """

    __tablename__ = "staff_alert_targets"
    __table_args__ = tenant_keys(
        tenant_fk("channel_id", "channels"),
        tenant_fk("user_id", "users", ondelete="SET NULL"),
        one_of("kind", ("channel", "webhook")),
        check(
            "kind_fields",
            "(kind = 'channel' AND channel_id IS NOT NULL AND address IS NOT NULL)"
            " OR (kind = 'webhook' AND webhook_url_encrypted IS NOT NULL)",
        ),
    )

    name: Mapped[str]
    kind: Mapped[str]
    channel_id: Mapped[UUID | None]
    user_id: Mapped[UUID | None]
    address: Mapped[str | None]
    webhook_url_encrypted: Mapped[str | None]
    urgent_only: Mapped[bool] = mapped_column(server_default=text("false"))
    enabled: Mapped[bool] = mapped_column(server_default=text("true"))


class IntegrationCredential(Base, TenantOwned):
    """A connection to an outside system, e.g. a PMS or POS such as iiko."""

    __tablename__ = "integration_credentials"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "integration_type"),
        one_of("connection_status", ("unknown", "connected", "failing", "disabled")),
    )

    integration_type: Mapped[str]
    base_url: Mapped[str | None]
    credentials_encrypted: Mapped[str]
    settings: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    connection_status: Mapped[str] = mapped_column(server_default=text("'unknown'"))
    last_error: Mapped[str | None]
    last_checked_at: Mapped[datetime | None]
