"""Who is calling and what they may do: ``Depends(require("knowledge.manage"))``.

The dependency authenticates the bearer (a staff JWT or an API key), loads the caller's
permissions from the role catalogue (a user's roles are read afresh on every request, so a
revoked role or a deactivated user stops at once), checks the permission, and yields a
``Context``: the principal and a unit of work bound to its tenant, so row-level security holds
for everything below. Another tenant's object is simply not found (404).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer, OAuth2PasswordBearer

from persistence.models import User
from persistence.repositories.access import API_KEY_PREFIX, AuditActor
from persistence.uow import UnitOfWork
from workers.api.problems import forbidden, unauthorized
from workers.api.services import Services, services
from workers.api.tokens import InvalidTokenError

SIGNED_IN = "signed-in"
PERMISSION_ATTRIBUTE = "__frontdesk_permission__"

staff_token = OAuth2PasswordBearer(
    tokenUrl="/api/v1/auth/token",
    scheme_name="staff",
    description="A staff member's access token from /api/v1/auth/token.",
    auto_error=False,
)
api_key = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="fdk_…",
    description="An API key (`Authorization: Bearer fdk_…`) from /api/v1/api-keys.",
    auto_error=False,
)


@dataclass(frozen=True, slots=True)
class Principal:
    tenant_id: UUID
    permissions: frozenset[str]
    label: str
    user_id: UUID | None = None
    api_key_id: UUID | None = None
    roles: tuple[str, ...] = ()

    @property
    def actor(self) -> AuditActor:
        kind = "user" if self.user_id is not None else "api_key"
        return AuditActor(
            kind=kind, label=self.label, user_id=self.user_id, api_key_id=self.api_key_id
        )


@dataclass(frozen=True, slots=True)
class Context:
    """The caller and its tenant's unit of work (the route commits it; otherwise rolled back)."""

    principal: Principal
    uow: UnitOfWork
    services: Services


def require(permission: str | None) -> Callable[..., AsyncIterator[Context]]:
    """A dependency admitting callers with ``permission`` (None: any signed-in caller)."""
    declared = permission or SIGNED_IN

    async def dependency(
        request: Request,
        token: str | None = Depends(staff_token),
        _key: HTTPAuthorizationCredentials | None = Depends(api_key),
    ) -> AsyncIterator[Context]:
        found = services(request)
        if token is None:
            raise unauthorized()
        opened = _key_context if token.startswith(API_KEY_PREFIX) else _staff_context
        async with opened(found, token) as context:
            if permission is not None and permission not in context.principal.permissions:
                raise forbidden(permission)
            yield context

    setattr(dependency, PERMISSION_ATTRIBUTE, declared)
    dependency.__name__ = f"require_{declared.replace('.', '_').replace('-', '_')}"
    return dependency


async def active_user(uow: UnitOfWork, user_id: UUID) -> User:
    """The token's user, if it and its tenant are still active (401 otherwise)."""
    user = await uow.staff.get(user_id=user_id)
    tenant = await uow.tenants.get()
    if user is None or not user.active or user.deleted_at is not None:
        raise unauthorized("the account is not active")
    if tenant is None or not tenant.active:
        raise unauthorized("the tenant is not active")
    return user


@asynccontextmanager
async def _staff_context(found: Services, token: str) -> AsyncIterator[Context]:
    try:
        claims = found.tokens.verify(token, kind="access")
    except InvalidTokenError:
        raise unauthorized("the token is invalid or expired") from None
    async with found.uow_factory(claims.tenant_id) as uow:
        user = await active_user(uow, claims.user_id)
        principal = Principal(
            tenant_id=claims.tenant_id,
            permissions=await uow.access.permissions(user_id=user.id),
            label=user.email,
            user_id=user.id,
            roles=tuple(await uow.staff.role_names(user_id=user.id)),
        )
        yield Context(principal=principal, uow=uow, services=found)


@asynccontextmanager
async def _key_context(found: Services, key: str) -> AsyncIterator[Context]:
    holder = await found.directory.use_api_key(key=key)
    if holder is None:
        raise unauthorized("the API key is invalid or revoked")
    async with found.uow_factory(holder.tenant_id) as uow:
        row = await uow.api_keys.get(key_id=holder.api_key_id)
        assert row is not None  # the lookup just found it, and keys are never deleted
        principal = Principal(
            tenant_id=holder.tenant_id,
            permissions=holder.permissions,
            label=f"api key {row.name} ({row.prefix}…)",
            api_key_id=holder.api_key_id,
        )
        yield Context(principal=principal, uow=uow, services=found)


def declared_permission(route: APIRoute) -> str | None:
    """The permission a route's ``require`` dependency declares (None: it has none)."""
    pending: list[Any] = [route.dependant]
    while pending:
        dependant = pending.pop()
        declared = getattr(dependant.call, PERMISSION_ATTRIBUTE, None)
        if declared is not None:
            return str(declared)
        pending.extend(dependant.dependencies)
    return None
