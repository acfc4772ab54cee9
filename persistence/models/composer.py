"""Replies worded by the tenant's own language model: its settings, and one composition per
inbound message it was asked to answer (claimed before the call, with usage and outcome)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from uuid import UUID

from sqlalchemy import BigInteger, Index, Numeric, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, one_of, tenant_fk, tenant_keys


class CompositionStatus(StrEnum):
    """``claimed``: a composer took it and may be calling the model; ``settled``: the outcome
    is known (composed, the template answer, or escalated) but not yet drafted; ``drafted``:
    the outbound message exists."""

    CLAIMED = "claimed"
    SETTLED = "settled"
    DRAFTED = "drafted"


COMPOSITION_STATUSES = tuple(CompositionStatus)
COMPOSITION_OUTCOMES = ("composed", "template", "escalated")


class AiModelSettings(Base, TenantOwned):
    """One per tenant: the OpenAI-compatible model that words replies (off by default)."""

    __tablename__ = "ai_model_settings"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id"),
        check("temperature", "temperature BETWEEN 0 AND 2"),
        check("max_tokens", "max_tokens BETWEEN 1 AND 32000"),
        check("timeout_seconds", "timeout_seconds BETWEEN 1 AND 120"),
        check("monthly_token_budget", "monthly_token_budget IS NULL OR monthly_token_budget >= 0"),
        check("enabled_needs_model", "NOT enabled OR (base_url IS NOT NULL AND model IS NOT NULL)"),
    )

    enabled: Mapped[bool] = mapped_column(server_default=text("false"))
    base_url: Mapped[str | None]
    model: Mapped[str | None]
    api_key_encrypted: Mapped[str | None]
    temperature: Mapped[Decimal] = mapped_column(Numeric(3, 2), server_default=text("0.20"))
    max_tokens: Mapped[int] = mapped_column(server_default=text("400"))
    timeout_seconds: Mapped[int] = mapped_column(server_default=text("20"))
    monthly_token_budget: Mapped[int | None] = mapped_column(BigInteger)
    # The provider said 429 with Retry-After: no call for this tenant before then.
    paused_until: Mapped[datetime | None]
    # When admins were last told the model keeps failing (at most once an hour).
    failure_alerted_at: Mapped[datetime | None]


class Composition(Base, TenantOwned):
    """The model's answer to one inbound message: at most one per message, ever."""

    __tablename__ = "compositions"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "message_id"),
        Index("ix_compositions_tenant_id_created_at", "tenant_id", "created_at"),
        tenant_fk("message_id", "messages"),
        tenant_fk("conversation_id", "conversations"),
        tenant_fk("outbound_message_id", "messages", ondelete="SET NULL"),
        one_of("status", COMPOSITION_STATUSES),
        one_of("outcome", COMPOSITION_OUTCOMES, nullable=True),
        check("attempts", "attempts >= 1"),
        check("tokens", "prompt_tokens >= 0 AND completion_tokens >= 0"),
    )

    message_id: Mapped[UUID]
    conversation_id: Mapped[UUID]
    status: Mapped[str] = mapped_column(server_default=text("'claimed'"))
    # Claims of this message: a claim a crash left behind is taken over once, never twice.
    attempts: Mapped[int] = mapped_column(server_default=text("1"))
    claimed_at: Mapped[datetime]
    model: Mapped[str | None]
    outcome: Mapped[str | None]
    # The model's reply as it came (kept when a guard refused it, for staff to see why).
    reply: Mapped[str | None]
    reason: Mapped[str | None]
    prompt_tokens: Mapped[int] = mapped_column(server_default=text("0"))
    completion_tokens: Mapped[int] = mapped_column(server_default=text("0"))
    # Set when the model was called (None: no call, e.g. budget exhausted or rate limited).
    latency_ms: Mapped[int | None]
    settled_at: Mapped[datetime | None]
    drafted_at: Mapped[datetime | None]
    outbound_message_id: Mapped[UUID | None]
