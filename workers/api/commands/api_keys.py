"""API keys: a name and a subset of the creator's permissions; the key is shown once."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from persistence.models import ApiKey
from persistence.repositories.access import AuditActor, IssuedKey
from persistence.repositories.base import NotFoundError
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError


class PermissionNotGrantableError(CommandError):
    """The key would get a permission its creator lacks (or one that does not exist)."""

    field = "permissions"


def key_values(row: ApiKey) -> dict[str, object]:
    return {
        "name": row.name,
        "prefix": row.prefix,
        "permissions": list(row.permissions),
        "revoked_at": row.revoked_at,
    }


async def create_api_key(
    uow: UnitOfWork,
    *,
    actor: AuditActor,
    name: str,
    permissions: Iterable[str],
    grantable: frozenset[str] | None,
) -> IssuedKey:
    """``grantable``: the creator's permissions (None: the whole catalogue, for the CLI)."""
    wanted = set(permissions)
    catalogue = await uow.access.catalogue()
    allowed = catalogue if grantable is None else catalogue & grantable
    refused = sorted(wanted - allowed)
    if refused:
        raise PermissionNotGrantableError(f"cannot grant {', '.join(refused)}")
    if not wanted:
        raise PermissionNotGrantableError("an API key needs at least one permission")
    issued = await uow.api_keys.add(name=name, permissions=wanted, created_by=actor.user_id)
    await uow.audit.add(
        actor=actor,
        resource="api_key",
        resource_id=issued.row.id,
        action="create",
        new=key_values(issued.row),
    )
    return issued


async def revoke_api_key(uow: UnitOfWork, *, actor: AuditActor, key_id: UUID) -> ApiKey:
    before = await uow.api_keys.get(key_id=key_id)
    if before is None:
        raise NotFoundError(f"API key {key_id} not found")
    old = key_values(before)
    row = await uow.api_keys.revoke(key_id=key_id)
    assert row is not None
    await uow.audit.add(
        actor=actor,
        resource="api_key",
        resource_id=row.id,
        action="revoke",
        old=old,
        new=key_values(row),
    )
    return row
