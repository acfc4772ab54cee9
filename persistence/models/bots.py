"""Scripted bot flows, where each chat is in one, and per-tenant rate limits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import Numeric, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, tenant_fk, tenant_keys


class BotScenario(Base, TenantOwned):
    """A versioned flow (steps and transitions as JSON), e.g. a table booking dialogue."""

    __tablename__ = "bot_scenarios"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "name", "version"),
        check("version", "version > 0"),
    )

    name: Mapped[str]
    version: Mapped[int] = mapped_column(server_default=text("1"))
    flow: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(server_default=text("false"))


class BotDialogState(Base, TenantOwned):
    """Where one conversation is in a scenario, and what it collected so far."""

    __tablename__ = "bot_dialog_states"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "conversation_id"),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("scenario_id", "bot_scenarios"),
    )

    conversation_id: Mapped[UUID]
    scenario_id: Mapped[UUID]
    current_step: Mapped[str]
    collected: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    expires_at: Mapped[datetime | None]


class RateLimitBucket(Base, TenantOwned):
    """A token bucket (e.g. sends per channel): ``tokens`` refill at ``refill_per_second``."""

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
