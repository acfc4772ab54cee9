"""Bot scenarios and their versions, where each chat is in one, and per-tenant rate limits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Index, Numeric, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, one_of, tenant_fk, tenant_keys


class VersionStatus(StrEnum):
    """A scenario version: a draft until published, retired when another is published."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class DialogStatus(StrEnum):
    """A conversation's dialogue: ``idle`` until a scenario starts, ``active`` while it runs."""

    IDLE = "idle"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    HANDED_OFF = "handed_off"
    EXPIRED = "expired"


VERSION_STATUSES = tuple(VersionStatus)
DIALOG_STATUSES = tuple(DialogStatus)


class BotScenario(Base, TenantOwned):
    """A dialogue staff script, e.g. a table booking; its flows are ``BotScenarioVersion`` rows.

    ``version`` counts the versions (``flow`` is the latest one's), ``published_version`` is the
    one new dialogues start on, ``active`` whether the scenario starts at all.
    """

    __tablename__ = "bot_scenarios"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "name", "version"),
        UniqueConstraint("tenant_id", "name"),
        check("version", "version > 0"),
    )

    name: Mapped[str]
    version: Mapped[int] = mapped_column(server_default=text("1"))
    flow: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(server_default=text("false"))
    description: Mapped[str | None]
    published_version: Mapped[int | None]


class BotScenarioVersion(Base, TenantOwned):
    """One version of a scenario's flow: a draft until published; never edited once published."""

    __tablename__ = "bot_scenario_versions"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "scenario_id", "version"),
        tenant_fk("scenario_id", "bot_scenarios"),
        check("version", "version > 0"),
        one_of("status", VERSION_STATUSES),
    )

    scenario_id: Mapped[UUID]
    version: Mapped[int]
    flow: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(server_default=text("'draft'"))
    published_at: Mapped[datetime | None]


class BotDialogState(Base, TenantOwned):
    """A conversation's dialogue: the row its messages lock, one at a time and in order, and
    where it is in a scenario version (step, collected values, wrong answers) while one runs."""

    __tablename__ = "bot_dialog_states"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "conversation_id"),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("scenario_id", "bot_scenarios"),
        tenant_fk("version_id", "bot_scenario_versions"),
        one_of("status", DIALOG_STATUSES),
        check("retries", "retries >= 0"),
        # The scheduler's sweep of idle dialogues across tenants (0019).
        Index(
            "ix_bot_dialog_states_expires_at",
            "expires_at",
            postgresql_where=text("status = 'active'"),
        ),
    )

    conversation_id: Mapped[UUID]
    scenario_id: Mapped[UUID | None]
    current_step: Mapped[str | None]
    collected: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    expires_at: Mapped[datetime | None]
    version_id: Mapped[UUID | None]
    status: Mapped[str] = mapped_column(server_default=text("'idle'"))
    retries: Mapped[int] = mapped_column(server_default=text("0"))
    started_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None]
    last_message_id: Mapped[UUID | None]
    last_message_at: Mapped[datetime | None]


class RateLimitBucket(Base, TenantOwned):
    """A token bucket (e.g. sends per channel): ``tokens`` refill at ``refill_per_second``;
    ``limited_since`` when a guest's bucket ran dry (``domain.rate_limits``)."""

    __tablename__ = "rate_limit_buckets"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "bucket_key"),
        check("capacity", "capacity > 0"),
        check("refill_per_second", "refill_per_second >= 0"),
        check("tokens_within_capacity", "tokens >= 0 AND tokens <= capacity"),
    )

    bucket_key: Mapped[str]
    capacity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    refill_per_second: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    tokens: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    refilled_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    limited_since: Mapped[datetime | None]
