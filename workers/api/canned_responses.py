"""Canned responses (``knowledge.manage``): replies staff insert by shortcut (``/wifi``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import StringConstraints

from persistence.models import CannedResponse
from workers.api.config_rows import audited, deleted, found, patch
from workers.api.problems import conflict
from workers.api.schemas import Body, Name, Out, Text
from workers.api.security import Context, require

router = APIRouter(prefix="/canned-responses", tags=["canned responses"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]
Shortcut = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^/[a-z0-9_-]{1,63}$")
]


class CannedIn(Body):
    shortcut: Shortcut
    title: Name
    body: Text


class CannedPatch(Body):
    shortcut: Shortcut | None = None
    title: Name | None = None
    body: Text | None = None


class CannedOut(Out):
    id: UUID
    shortcut: str
    title: str
    body: str
    created_by: UUID | None
    updated_at: datetime


def _values(row: CannedResponse) -> dict[str, object]:
    return CannedOut.model_validate(row).model_dump(exclude={"id", "updated_at", "created_by"})


async def _free(context: Context, shortcut: str, *, other_than: UUID | None = None) -> None:
    taken = await context.uow.configuration.list_all(CannedResponse, shortcut=shortcut)
    if any(row.id != other_than for row in taken):
        raise conflict(f"the shortcut {shortcut!r} is taken")


@router.get("", response_model=list[CannedOut])
async def list_canned(context: Manage) -> list[CannedOut]:
    rows = await context.uow.configuration.list_all(CannedResponse, CannedResponse.shortcut)
    return [CannedOut.model_validate(row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CannedOut)
async def create_canned(body: CannedIn, context: Manage) -> CannedOut:
    await _free(context, body.shortcut)
    row = await context.uow.configuration.add(
        CannedResponse, **body.model_dump(), created_by=context.principal.user_id
    )
    await audited(context, "canned_response", row.id, "create", new=_values(row))
    await context.uow.commit()
    return CannedOut.model_validate(row)


@router.get("/{canned_id}", response_model=CannedOut)
async def get_canned(canned_id: UUID, context: Manage) -> CannedOut:
    return CannedOut.model_validate(
        await found(context, CannedResponse, canned_id, "canned response")
    )


@router.patch("/{canned_id}", response_model=CannedOut)
async def update_canned(canned_id: UUID, body: CannedPatch, context: Manage) -> CannedOut:
    row = await found(context, CannedResponse, canned_id, "canned response")
    old = _values(row)
    values = body.model_dump(exclude_unset=True)
    if values.get("shortcut") is not None:
        await _free(context, values["shortcut"], other_than=row.id)
    patch(row, values)
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    await audited(context, "canned_response", row.id, "update", old=old, new=_values(row))
    await context.uow.commit()
    return CannedOut.model_validate(row)


@router.delete("/{canned_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_canned(canned_id: UUID, context: Manage) -> None:
    row = await found(context, CannedResponse, canned_id, "canned response")
    old = _values(row)
    await deleted(context, row, "canned_response", old)
