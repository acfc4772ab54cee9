"""Routing: each agent's availability and capacity, and the rules choosing a team."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, TenantOwned, check, one_of, tenant_fk, tenant_keys

AVAILABILITIES = ("online", "away", "offline")


class AgentStatus(Base, TenantOwned):
    """Whether a staff user takes conversations now, and how many open ones at most.

    A user with no row is offline; the router gives conversations to ``online`` agents only."""

    __tablename__ = "agent_status"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "user_id"),
        tenant_fk("user_id", "users"),
        one_of("availability", AVAILABILITIES),
        check("capacity", "capacity BETWEEN 0 AND 200"),
    )

    user_id: Mapped[UUID]
    availability: Mapped[str] = mapped_column(server_default=text("'offline'"))
    capacity: Mapped[int] = mapped_column(server_default=text("5"))
    availability_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # When the router last gave them a conversation: ties go to whoever waited longest.
    last_assigned_at: Mapped[datetime | None]


class RoutingRule(Base, TenantOwned):
    """Conversations on ``channel_id`` / of ``property_id`` / about ``topic`` go to ``team_id``;
    every criterion named must match, the most specific rule wins, then the lowest ``position``.
    ``humans_first``: every new conversation on the channel goes to a human at once."""

    __tablename__ = "routing_rules"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "name"),
        tenant_fk("channel_id", "channels"),
        tenant_fk("property_id", "properties"),
        tenant_fk("team_id", "teams"),
        check("position", "position BETWEEN 0 AND 10000"),
        check("topic", "topic IS NULL OR topic ~ '^[a-z0-9][a-z0-9_-]{0,62}$'"),
        check("humans_first_needs_channel", "NOT humans_first OR channel_id IS NOT NULL"),
    )

    name: Mapped[str]
    position: Mapped[int] = mapped_column(server_default=text("100"))
    channel_id: Mapped[UUID | None]
    property_id: Mapped[UUID | None]
    topic: Mapped[str | None]
    team_id: Mapped[UUID]
    humans_first: Mapped[bool] = mapped_column(server_default=text("false"))
    active: Mapped[bool] = mapped_column(server_default=text("true"))
