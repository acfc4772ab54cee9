"""What the assistant knows and how it behaves: AI settings, prompts, the knowledge base."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from uuid import UUID

from sqlalchemy import ARRAY, Index, Numeric, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Base,
    SoftDeleted,
    TenantOwned,
    check,
    empty_array,
    tenant_fk,
    tenant_keys,
)


class AiSettings(Base, TenantOwned):
    """One per tenant: when the assistant answers on its own, and when it gets a human."""

    __tablename__ = "ai_settings"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id"),
        check("confidence_threshold", "confidence_threshold BETWEEN 0 AND 1"),
        check("response_delay_minutes", "response_delay_minutes >= 0"),
        check("negative_sentiment_threshold", "negative_sentiment_threshold BETWEEN -1 AND 1"),
        check(
            "quiet_hours_both_or_neither", "(quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)"
        ),
        check("inbound_messages_per_minute", "inbound_messages_per_minute BETWEEN 1 AND 1000"),
    )

    auto_reply_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    confidence_threshold: Mapped[Decimal] = mapped_column(
        Numeric(3, 2), server_default=text("0.70")
    )
    quiet_hours_start: Mapped[time | None]
    quiet_hours_end: Mapped[time | None]
    response_delay_minutes: Mapped[int] = mapped_column(server_default=text("0"))
    escalation_categories: Mapped[list[str]] = mapped_column(
        ARRAY(Text()), server_default=text("'{refund,complaint,emergency}'::text[]")
    )
    negative_sentiment_threshold: Mapped[Decimal] = mapped_column(
        Numeric(3, 2), server_default=text("-0.50")
    )
    # One guest identity's messages a minute before auto-replies stop (domain.rate_limits).
    inbound_messages_per_minute: Mapped[int] = mapped_column(server_default=text("20"))


class Prompt(Base, TenantOwned):
    """A versioned system prompt; at most one version per tenant is published."""

    __tablename__ = "prompts"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "version"),
        Index(
            "uq_prompts_one_published",
            "tenant_id",
            unique=True,
            postgresql_where=text("is_published"),
        ),
        tenant_fk("published_by", "users", ondelete="SET NULL"),
        check("version", "version > 0"),
        check("published_fields", "NOT is_published OR published_at IS NOT NULL"),
    )

    version: Mapped[int]
    body: Mapped[str]
    is_published: Mapped[bool] = mapped_column(server_default=text("false"))
    published_by: Mapped[UUID | None]
    published_at: Mapped[datetime | None]


class KnowledgeCategory(Base, TenantOwned):
    __tablename__ = "knowledge_categories"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "slug"),
        check("display_order", "display_order >= 0"),
    )

    slug: Mapped[str]
    name: Mapped[str]
    display_order: Mapped[int] = mapped_column(server_default=text("0"))
    example_questions: Mapped[list[str]] = mapped_column(server_default=empty_array())


class KnowledgeItem(Base, TenantOwned, SoftDeleted):
    """One question and its answer; ``key`` is stable so imports update rather than duplicate."""

    __tablename__ = "knowledge_items"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "key"),
        Index("ix_knowledge_items_tenant_id_category_id", "tenant_id", "category_id"),
        tenant_fk("category_id", "knowledge_categories"),
        check("display_order", "display_order >= 0"),
    )

    category_id: Mapped[UUID]
    key: Mapped[str]
    question: Mapped[str]
    answer: Mapped[str]
    example_questions: Mapped[list[str]] = mapped_column(server_default=empty_array())
    display_order: Mapped[int] = mapped_column(server_default=text("0"))
