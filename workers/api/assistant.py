"""The assistant profile: the name the assistant introduces itself with, its greeting, the
tenant's business vertical and default time zone (one per tenant)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from pydantic import StringConstraints

from persistence.models import AssistantProfile
from workers.api.config_rows import audited, patch
from workers.api.problems import not_found
from workers.api.properties import TimeZone
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/assistant", tags=["assistant"])
Read = Annotated[Context, Depends(require("conversations.read"))]
Manage = Annotated[Context, Depends(require("ai_settings.manage"))]
Greeting = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Vertical = Literal["hotel", "vacation_rental", "restaurant"]


class AssistantOut(Out):
    assistant_name: str
    greeting: str | None
    vertical: str
    timezone: str


class AssistantUpdate(Body):
    """The fields to change; ``greeting: null`` removes the greeting."""

    assistant_name: Name | None = None
    greeting: Greeting | None = None
    vertical: Vertical | None = None
    timezone: TimeZone | None = None


async def _profile(context: Context) -> AssistantProfile:
    row = await context.uow.assistant_profiles.get()
    if row is None:
        raise not_found("assistant profile")
    return row


@router.get("", response_model=AssistantOut)
async def get_assistant(context: Read) -> AssistantOut:
    return AssistantOut.model_validate(await _profile(context))


@router.patch("", response_model=AssistantOut)
async def update_assistant(body: AssistantUpdate, context: Manage) -> AssistantOut:
    """Change the profile; the pipeline's tenant context follows the change as it commits."""
    row = await _profile(context)
    old = AssistantOut.model_validate(row).model_dump()
    patch(row, body.model_dump(exclude_unset=True), nullable=frozenset({"greeting"}))
    await context.uow.session.flush()
    out = AssistantOut.model_validate(row)
    await audited(context, "assistant_profile", row.id, "update", old=old, new=out.model_dump())
    await context.uow.commit()
    return out
