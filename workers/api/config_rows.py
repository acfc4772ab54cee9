"""What the configuration resources share: find a row of the caller's tenant (404 otherwise),
apply a PATCH, and audit a change in the same transaction."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from persistence.models.base import TenantOwned
from workers.api.problems import invalid, not_found
from workers.api.security import Context

RowT = TypeVar("RowT", bound=TenantOwned)


async def found(context: Context, model: type[RowT], row_id: UUID, what: str) -> RowT:
    row = await context.uow.configuration.get(model, row_id)
    if row is None:
        raise not_found(what)
    return row


def patch(row: object, values: dict[str, Any], *, nullable: frozenset[str] = frozenset()) -> None:
    """Apply a PATCH: a null clears an optional value and is refused for a required one."""
    for name, value in values.items():
        if value is None and name not in nullable:
            raise invalid(name, "cannot be null")
        setattr(row, name, value)


async def audited(
    context: Context,
    resource: str,
    row_id: UUID | None,
    action: str,
    *,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
) -> None:
    """One config_audit row; callers pass values with secrets already masked."""
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource=resource,
        resource_id=row_id,
        action=action,
        old=old,
        new=new,
    )


async def deleted(context: Context, row: TenantOwned, resource: str, old: dict[str, Any]) -> None:
    """Delete ``row``, audit it with its last values ``old``, and commit."""
    await context.uow.configuration.remove(row)
    await audited(context, resource, row.id, "delete", old=old)
    await context.uow.commit()
