"""Who may use the management API and what they changed: API keys, sign-in attempts,
set-password tokens and the configuration audit."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint
from sqlalchemy.orm import Mapped

from persistence.models.base import Base, Row, TenantOwned, check, one_of, tenant_fk, tenant_keys

ACTOR_TYPES = ("user", "api_key", "system")


class SignInOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    THROTTLED = "throttled"


SIGN_IN_OUTCOMES = tuple(SignInOutcome)
PASSWORD_TOKEN_PURPOSES = ("invite", "reset")


class ApiKey(Base, TenantOwned):
    """A machine's credential: only its SHA-256 is stored, and a prefix staff can recognise."""

    __tablename__ = "api_keys"
    __table_args__ = tenant_keys(
        UniqueConstraint("key_hash"),
        tenant_fk("created_by", "users", ondelete="SET NULL"),
        check("permissions_not_empty", "cardinality(permissions) > 0"),
    )

    name: Mapped[str]
    prefix: Mapped[str]
    key_hash: Mapped[str]
    permissions: Mapped[list[str]]
    created_by: Mapped[UUID | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class ConfigAudit(Base, TenantOwned):
    """One configuration change: who, what, and the values before and after (secrets masked)."""

    __tablename__ = "config_audit"
    __table_args__ = tenant_keys(
        Index("ix_config_audit_tenant_id_created_at", "tenant_id", "created_at"),
        tenant_fk("actor_user_id", "users", ondelete="SET NULL"),
        tenant_fk("actor_api_key_id", "api_keys", ondelete="SET NULL"),
        one_of("actor_type", ACTOR_TYPES),
    )

    actor_type: Mapped[str]
    actor_user_id: Mapped[UUID | None]
    actor_api_key_id: Mapped[UUID | None]
    actor_label: Mapped[str]
    resource: Mapped[str]
    resource_id: Mapped[str | None]
    action: Mapped[str]
    old_values: Mapped[dict[str, Any] | None]
    new_values: Mapped[dict[str, Any] | None]


class SignInAttempt(Base, Row):
    """A sign-in attempt, for throttling: the account as a SHA-256 of the e-mail, never the
    e-mail itself (people type passwords into the e-mail field)."""

    __tablename__ = "sign_in_attempts"
    __table_args__ = (
        Index("ix_sign_in_attempts_account_hash_created_at", "account_hash", "created_at"),
        Index("ix_sign_in_attempts_client_address_created_at", "client_address", "created_at"),
        one_of("outcome", SIGN_IN_OUTCOMES),
    )

    account_hash: Mapped[str]
    client_address: Mapped[str]
    outcome: Mapped[str]


class PasswordToken(Base, TenantOwned):
    """A single-use, expiring set-password link (an invitation or a reset); hash only."""

    __tablename__ = "password_tokens"
    __table_args__ = tenant_keys(
        UniqueConstraint("token_hash"),
        tenant_fk("user_id", "users"),
        one_of("purpose", PASSWORD_TOKEN_PURPOSES),
    )

    user_id: Mapped[UUID]
    token_hash: Mapped[str]
    purpose: Mapped[str]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
