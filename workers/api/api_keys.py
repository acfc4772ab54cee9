"""API keys for machines: ``apikeys.manage``; the key is in the creation answer only."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import Field

from workers.api.commands.api_keys import create_api_key, revoke_api_key
from workers.api.problems import not_found
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/api-keys", tags=["api keys"])
Manage = Annotated[Context, Depends(require("apikeys.manage"))]
Permission = Annotated[str, Field(pattern=r"^[a-z_]+\.[a-z_]+$", max_length=64)]


class ApiKeyCreate(Body):
    name: Name
    permissions: Annotated[list[Permission], Field(min_length=1, max_length=64)]


class ApiKeyOut(Out):
    id: UUID
    name: str
    prefix: str
    permissions: list[str]
    created_by: UUID | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown here once, never again.")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
async def create(body: ApiKeyCreate, context: Manage) -> ApiKeyCreated:
    """Create a key with a subset of the caller's own permissions."""
    issued = await create_api_key(
        context.uow,
        actor=context.principal.actor,
        name=body.name,
        permissions=body.permissions,
        grantable=context.principal.permissions,
    )
    await context.uow.commit()
    shown = ApiKeyOut.model_validate(issued.row).model_dump()
    return ApiKeyCreated(**shown, key=issued.key)


@router.get("", response_model=list[ApiKeyOut])
async def list_keys(context: Manage) -> list[ApiKeyOut]:
    return [ApiKeyOut.model_validate(row) for row in await context.uow.api_keys.list_all()]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke(key_id: UUID, context: Manage) -> None:
    """Revoke a key: it stops working at once."""
    if await context.uow.api_keys.get(key_id=key_id) is None:
        raise not_found("API key")
    await revoke_api_key(context.uow, actor=context.principal.actor, key_id=key_id)
    await context.uow.commit()
