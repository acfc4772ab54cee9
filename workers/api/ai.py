"""AI settings (with ETag / If-Match) and the versioned system prompt."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Response, status
from pydantic import Field, StringConstraints, model_validator
from sqlalchemy import func

from domain.rate_limits import INBOUND_PER_MINUTE_RANGE
from persistence.models import AiSettings, Prompt
from workers.api.etags import IF_MATCH_RESPONSES, check_if_match, etag_of, required
from workers.api.problems import not_found
from workers.api.schemas import Body, Out, Text
from workers.api.security import Context, require

router = APIRouter(prefix="/ai", tags=["ai"])
Read = Annotated[Context, Depends(require("conversations.read"))]
Manage = Annotated[Context, Depends(require("ai_settings.manage"))]
Category = Annotated[
    str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=64)
]


def etag(row: AiSettings) -> str:
    """The settings' version: their ``updated_at`` in microseconds, exactly."""
    return etag_of(row.updated_at)


class AiSettingsValues(Body):
    auto_reply_enabled: bool
    confidence_threshold: Annotated[Decimal, Field(ge=0, le=1, max_digits=3, decimal_places=2)]
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    response_delay_minutes: Annotated[int, Field(ge=0, le=10_080)]
    escalation_categories: Annotated[list[Category], Field(max_length=50)]
    negative_sentiment_threshold: Annotated[
        Decimal, Field(ge=-1, le=1, max_digits=3, decimal_places=2)
    ]
    inbound_messages_per_minute: Annotated[
        int,
        Field(
            ge=INBOUND_PER_MINUTE_RANGE[0],
            le=INBOUND_PER_MINUTE_RANGE[1],
            description="Messages one guest identity may send in a minute before auto-replies"
            " stop (staff alerted once) until the guest has been quiet for a minute.",
        ),
    ]

    @model_validator(mode="after")
    def quiet_hours_both_or_neither(self) -> AiSettingsValues:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("quiet_hours_start and quiet_hours_end are set together")
        return self


class AiSettingsOut(Out):
    auto_reply_enabled: bool
    confidence_threshold: float
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    response_delay_minutes: int
    escalation_categories: list[str]
    negative_sentiment_threshold: float
    inbound_messages_per_minute: int
    updated_at: datetime


async def _settings(context: Context, *, for_update: bool = False) -> AiSettings:
    row = await context.uow.ai_settings.get(for_update=for_update)
    if row is None:
        raise not_found("AI settings")
    return row


def _values(row: AiSettings) -> dict[str, object]:
    return AiSettingsOut.model_validate(row).model_dump(exclude={"updated_at"})


@router.get("/settings", response_model=AiSettingsOut)
async def get_settings(context: Read, response: Response) -> AiSettingsOut:
    row = await _settings(context)
    response.headers["ETag"] = etag(row)
    return AiSettingsOut.model_validate(row)


@router.put(
    "/settings",
    response_model=AiSettingsOut,
    responses=IF_MATCH_RESPONSES,
)
async def put_settings(
    body: AiSettingsValues,
    context: Manage,
    response: Response,
    if_match: Annotated[str | None, Header(description="The ETag of the settings read")] = None,
) -> AiSettingsOut:
    """Replace every setting; ``If-Match`` must carry the ETag read (409 when stale)."""
    offered = required(if_match)
    row = await _settings(context, for_update=True)
    check_if_match(offered, etag(row), "the AI settings")
    old = _values(row)
    for name, value in body.model_dump().items():
        setattr(row, name, value)
    # Every accepted PUT is a new version, even one that changes nothing.
    row.updated_at = func.now()
    await context.uow.session.flush()
    await context.uow.session.refresh(row, ["updated_at"])
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="ai_settings",
        resource_id=row.id,
        action="update",
        old=old,
        new=_values(row),
    )
    await context.uow.commit()
    response.headers["ETag"] = etag(row)
    return AiSettingsOut.model_validate(row)


class PromptCreate(Body):
    body: Text


class PromptOut(Out):
    id: UUID
    version: int
    body: str
    is_published: bool
    published_by: UUID | None
    published_at: datetime | None
    created_at: datetime


def _prompt_values(row: Prompt) -> dict[str, object]:
    return {"version": row.version, "is_published": row.is_published, "body": row.body}


async def prompts_etag(context: Context, *, lock: bool = False) -> str:
    """The prompt history's version: its latest change (a draft added, a version published)."""
    return etag_of(await context.uow.prompts.latest_change(lock=lock))


@router.get("/prompts", response_model=list[PromptOut])
async def list_prompts(context: Manage, response: Response) -> list[PromptOut]:
    """Every version, newest first: the history, with who published which when; the ETag is
    what publishing takes in ``If-Match``."""
    rows = await context.uow.prompts.list_all()
    response.headers["ETag"] = await prompts_etag(context)
    return [PromptOut.model_validate(row) for row in rows]


@router.post("/prompts", status_code=status.HTTP_201_CREATED, response_model=PromptOut)
async def create_prompt(body: PromptCreate, context: Manage) -> PromptOut:
    """A new draft version (the published one stays until another is published)."""
    row = await context.uow.prompts.add(body=body.body)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="prompt",
        resource_id=row.id,
        action="create",
        new=_prompt_values(row),
    )
    await context.uow.commit()
    return PromptOut.model_validate(row)


@router.post("/prompts/{version}/publish", response_model=PromptOut, responses=IF_MATCH_RESPONSES)
async def publish_prompt(
    version: Annotated[int, Path(ge=1, le=2_147_483_647)],
    context: Manage,
    response: Response,
    if_match: Annotated[str | None, Header(description="The ETag of the prompts read")] = None,
) -> PromptOut:
    """Publish a version; publishing an older one rolls back to it. ``If-Match`` must carry
    the ETag of ``GET /ai/prompts`` (409 when a version was added or published since)."""
    offered = required(if_match)
    check_if_match(offered, await prompts_etag(context, lock=True), "the prompts")
    before = await context.uow.prompts.published()
    old = _prompt_values(before) if before is not None else None
    row = await context.uow.prompts.publish(version=version, published_by=context.principal.user_id)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="prompt",
        resource_id=row.id,
        action="publish",
        old=old,
        new=_prompt_values(row),
    )
    response.headers["ETag"] = await prompts_etag(context)
    await context.uow.commit()
    return PromptOut.model_validate(row)
