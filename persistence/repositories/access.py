"""Access to the management API inside one tenant: permissions and roles of staff, API keys,
set-password tokens, and the configuration audit."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select, update

from persistence.models import (
    ApiKey,
    ConfigAudit,
    PasswordToken,
    Permission,
    Role,
    RolePermission,
    UserRole,
)
from persistence.repositories.base import NotFoundError, Repository

API_KEY_PREFIX = "fdk_"
# What staff see of a key: the marker and the first characters of the random part.
VISIBLE_PREFIX_LENGTH = len(API_KEY_PREFIX) + 8
MASK = "********"
# Audit values under these names (or containing them) are masked, whatever the caller passed.
SECRET_NAMES = (
    "password",
    "secret",
    "token",
    "credential",
    "api_key",
    "key_hash",
    "auth",
    "smtp_password",
)


def digest(secret: str) -> str:
    """The SHA-256 (hex) API keys and set-password tokens are stored and looked up by."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class AuditActor:
    """Who made a change: a staff user, an API key, or frontdesk itself (the CLI)."""

    kind: str
    label: str
    user_id: UUID | None = None
    api_key_id: UUID | None = None


def masked(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``values`` as JSON, with anything named like a secret replaced by a mask."""
    if values is None:
        return None
    return {str(key): _masked_value(str(key), value) for key, value in values.items()}


def _masked_value(key: str, value: Any) -> Any:
    lowered = key.lower()
    if any(name in lowered for name in SECRET_NAMES) and value not in (None, "", {}):
        return MASK
    return _json(value)


def _json(value: Any) -> Any:
    if isinstance(value, Mapping):
        return masked(value)
    if isinstance(value, list | tuple | set | frozenset):
        return [_json(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | UUID | datetime | date | time):
        return str(value)
    return value


class AccessRepository(Repository):
    async def permissions(self, *, user_id: UUID) -> frozenset[str]:
        """The permission codes the user's roles grant."""
        statement = (
            select(Permission.code)
            .join(RolePermission, RolePermission.permission_id == Permission.id)
            .join(UserRole, UserRole.role_id == RolePermission.role_id)
            .where(UserRole.tenant_id == self.tenant_id, UserRole.user_id == user_id)
            .distinct()
        )
        return frozenset((await self.session.execute(statement)).scalars())

    async def catalogue(self) -> frozenset[str]:
        """Every permission code there is."""
        return frozenset((await self.session.execute(select(Permission.code))).scalars())

    async def set_roles(self, *, user_id: UUID, roles: Iterable[str]) -> None:
        """Replace the user's roles; an unknown role name raises ``NotFoundError``."""
        wanted = sorted(set(roles))
        rows = await self.session.execute(select(Role.name, Role.id).where(Role.name.in_(wanted)))
        found: dict[str, UUID] = {row[0]: row[1] for row in rows}
        missing = [name for name in wanted if name not in found]
        if missing:
            raise NotFoundError(f"role {missing[0]!r} not found")
        await self.session.execute(
            delete(UserRole).where(
                UserRole.tenant_id == self.tenant_id, UserRole.user_id == user_id
            )
        )
        for name in wanted:
            self._stage(UserRole(tenant_id=self.tenant_id, user_id=user_id, role_id=found[name]))
        await self.session.flush()

    async def add_password_token(
        self, *, user_id: UUID, purpose: str, valid_for: timedelta
    ) -> tuple[str, datetime]:
        """A new set-password token (returned once, stored hashed) and when it expires.

        The token names its tenant (``<tenant hex>.<random>``) so it can be redeemed without a
        cross-tenant lookup.
        """
        token = f"{self.tenant_id.hex}.{secrets.token_urlsafe(32)}"
        expires_at = datetime.now(UTC) + valid_for
        self._stage(
            PasswordToken(
                tenant_id=self.tenant_id,
                user_id=user_id,
                token_hash=digest(token),
                purpose=purpose,
                expires_at=expires_at,
            )
        )
        await self.session.flush()
        return token, expires_at

    async def use_password_token(self, *, token: str) -> UUID | None:
        """Spend a live token: its user's id, or None if unknown, used or expired."""
        statement = (
            update(PasswordToken)
            .where(
                PasswordToken.tenant_id == self.tenant_id,
                PasswordToken.token_hash == digest(token),
                PasswordToken.used_at.is_(None),
                PasswordToken.expires_at > func.now(),
            )
            .values(used_at=func.now())
            .returning(PasswordToken.user_id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class IssuedKey:
    row: ApiKey
    key: str


class ApiKeyRepository(Repository):
    async def add(
        self, *, name: str, permissions: Iterable[str], created_by: UUID | None
    ) -> IssuedKey:
        """A new key: the plaintext is in the result and nowhere else."""
        key = new_api_key()
        row = ApiKey(
            tenant_id=self.tenant_id,
            name=name,
            prefix=key[:VISIBLE_PREFIX_LENGTH],
            key_hash=digest(key),
            permissions=sorted(set(permissions)),
            created_by=created_by,
        )
        self._stage(row)
        await self.session.flush()
        return IssuedKey(row=row, key=key)

    async def get(self, *, key_id: UUID) -> ApiKey | None:
        return await self._get(ApiKey, key_id)

    async def list_all(self) -> list[ApiKey]:
        statement = (
            select(ApiKey).where(ApiKey.tenant_id == self.tenant_id).order_by(ApiKey.created_at)
        )
        return list((await self.session.execute(statement)).scalars())

    async def revoke(self, *, key_id: UUID) -> ApiKey | None:
        """Revoke the key (it stops working at once); None if there is no such key."""
        row = await self._get(ApiKey, key_id, for_update=True)
        if row is not None and row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            await self.session.flush()
        return row


class AuditRepository(Repository):
    async def add(
        self,
        *,
        actor: AuditActor,
        resource: str,
        resource_id: object | None,
        action: str,
        old: Mapping[str, Any] | None = None,
        new: Mapping[str, Any] | None = None,
    ) -> ConfigAudit:
        """Record one change; values named like secrets are masked here, whatever was passed."""
        row = ConfigAudit(
            tenant_id=self.tenant_id,
            actor_type=actor.kind,
            actor_user_id=actor.user_id,
            actor_api_key_id=actor.api_key_id,
            actor_label=actor.label,
            resource=resource,
            resource_id=str(resource_id) if resource_id is not None else None,
            action=action,
            old_values=masked(old),
            new_values=masked(new),
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def list_recent(
        self, *, limit: int, resource: str | None = None, before: datetime | None = None
    ) -> list[ConfigAudit]:
        """The newest changes first, optionally of one resource and older than ``before``."""
        statement = select(ConfigAudit).where(ConfigAudit.tenant_id == self.tenant_id)
        if resource is not None:
            statement = statement.where(ConfigAudit.resource == resource)
        if before is not None:
            statement = statement.where(ConfigAudit.created_at < before)
        statement = statement.order_by(ConfigAudit.created_at.desc(), ConfigAudit.id).limit(limit)
        return list((await self.session.execute(statement)).scalars())
