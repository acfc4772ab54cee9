"""Staff users, what they may do (roles and permissions) and how they are organised (teams)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import ForeignKey, Index, SmallInteger, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Base,
    Row,
    SoftDeleted,
    TenantOwned,
    check,
    one_of,
    tenant_fk,
    tenant_keys,
)

ROLE_NAMES = ("admin", "supervisor", "team_lead", "agent")


class User(Base, TenantOwned, SoftDeleted):
    """A staff member; e-mail is stored lower-cased and unique among a tenant's live users."""

    __tablename__ = "users"
    __table_args__ = tenant_keys(
        Index(
            "uq_users_tenant_id_email_live",
            "tenant_id",
            "email",
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        check("email_lower", "email = lower(email)"),
    )

    email: Mapped[str]
    full_name: Mapped[str]
    password_hash: Mapped[str]
    phone: Mapped[str | None]
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    last_login_at: Mapped[datetime | None]


class Role(Base, Row):
    """A role every tenant shares (admin, supervisor, team_lead, agent): a global catalogue."""

    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("name"), one_of("name", ROLE_NAMES))

    name: Mapped[str]
    description: Mapped[str]


class Permission(Base, Row):
    """One thing a role may do, e.g. ``conversations.assign`` (global catalogue)."""

    __tablename__ = "permissions"
    __table_args__ = (UniqueConstraint("code"),)

    code: Mapped[str]
    description: Mapped[str]


class RolePermission(Base, Row):
    __tablename__ = "role_permissions"
    __table_args__ = (UniqueConstraint("role_id", "permission_id"),)

    role_id: Mapped[UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))
    permission_id: Mapped[UUID] = mapped_column(ForeignKey("permissions.id", ondelete="CASCADE"))


class UserRole(Base, TenantOwned):
    __tablename__ = "user_roles"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "user_id", "role_id"),
        tenant_fk("user_id", "users"),
    )

    user_id: Mapped[UUID]
    role_id: Mapped[UUID] = mapped_column(ForeignKey("roles.id", ondelete="CASCADE"))


class Team(Base, TenantOwned):
    """A group of staff conversations can be routed to (front desk, concierge, ...)."""

    __tablename__ = "teams"
    __table_args__ = tenant_keys(UniqueConstraint("tenant_id", "name"))

    name: Mapped[str]
    description: Mapped[str | None]


class TeamMembership(Base, TenantOwned):
    __tablename__ = "team_memberships"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "team_id", "user_id"),
        tenant_fk("team_id", "teams"),
        tenant_fk("user_id", "users"),
        one_of("member_role", ("member", "lead")),
    )

    team_id: Mapped[UUID]
    user_id: Mapped[UUID]
    member_role: Mapped[str] = mapped_column(server_default=text("'member'"))


class AgentSkill(Base, TenantOwned):
    """A skill (language, topic) an agent has, with a level from 1 to 5, for routing."""

    __tablename__ = "agent_skills"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "user_id", "skill"),
        tenant_fk("user_id", "users"),
        check("level", "level BETWEEN 1 AND 5"),
    )

    user_id: Mapped[UUID]
    skill: Mapped[str]
    level: Mapped[int] = mapped_column(SmallInteger, server_default=text("3"))
