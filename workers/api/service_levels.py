"""SLA policies (read with ``reports.read``, changed with ``sla.manage``), holidays (read
with ``conversations.read``, changed with ``tenant.manage``), and the caller's conversations
whose SLA deadlines are near or passed (``conversations.read``).

A policy sets first-response, next-response and resolution targets in minutes on a calendar or
business-hours clock, for the conversations it applies to: the priorities, channels, teams and
properties it names (an empty list matches any); the first active policy by ``position`` that
matches a conversation when its guest writes applies, and its terms are copied onto the
conversation, so changing a policy later never changes a conversation it applied to. A policy
that applied to a conversation is deactivated (``active: false``) rather than deleted.
A holiday is a day without business hours at one property, or (no property) at every one.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from domain.inbox import Priority, can_see
from persistence.models import Channel, Holiday, Property, SlaPolicy, Team
from persistence.models.base import TenantOwned
from workers.api.config_rows import audited, deleted, found, patch
from workers.api.conversations import caller_scope
from workers.api.problems import conflict, invalid
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(tags=["service levels"])
Reading = Annotated[Context, Depends(require("reports.read"))]
Managing = Annotated[Context, Depends(require("sla.manage"))]
ReadingHolidays = Annotated[Context, Depends(require("conversations.read"))]
ManagingHolidays = Annotated[Context, Depends(require("tenant.manage"))]
Minutes = Annotated[int, Field(gt=0, le=525_600, description="minutes (at most a year)")]
Position = Annotated[int, Field(ge=0, le=10000)]
WarningPercent = Annotated[int, Field(ge=1, le=99)]
Ids = Annotated[list[UUID], Field(max_length=100)]
REFERENCES: dict[str, tuple[type[TenantOwned], str]] = {
    "channel_ids": (Channel, "channel"),
    "team_ids": (Team, "team"),
    "property_ids": (Property, "property"),
}


class PolicyIn(Body):
    name: Name
    first_response_minutes: Minutes
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    clock: Literal["calendar", "business_hours"] = "calendar"
    priorities: Annotated[list[Priority], Field(max_length=4)] = []
    channel_ids: Ids = []
    team_ids: Ids = []
    property_ids: Ids = []
    position: Position = 100
    warning_percent: Annotated[
        WarningPercent | None,
        Field(description="warn staff when this share of a target has run (null: never)"),
    ] = 80
    bot_reply_counts: Annotated[
        bool, Field(description="a bot's reply meets the response targets")
    ] = False
    active: bool = True


class PolicyPatch(Body):
    name: Name | None = None
    first_response_minutes: Minutes | None = None
    next_response_minutes: Minutes | None = None
    resolution_minutes: Minutes | None = None
    clock: Literal["calendar", "business_hours"] | None = None
    priorities: Annotated[list[Priority], Field(max_length=4)] | None = None
    channel_ids: Ids | None = None
    team_ids: Ids | None = None
    property_ids: Ids | None = None
    position: Position | None = None
    warning_percent: WarningPercent | None = None
    bot_reply_counts: bool | None = None
    active: bool | None = None


class PolicyOut(Out):
    id: UUID
    name: str
    first_response_minutes: int
    next_response_minutes: int | None
    resolution_minutes: int | None
    clock: str
    priorities: list[str]
    channel_ids: list[UUID]
    team_ids: list[UUID]
    property_ids: list[UUID]
    position: int
    warning_percent: int | None
    bot_reply_counts: bool
    active: bool
    updated_at: datetime


NULLABLE = frozenset({"next_response_minutes", "resolution_minutes", "warning_percent"})


def _values(policy: SlaPolicy) -> dict[str, Any]:
    return PolicyOut.model_validate(policy).model_dump(mode="json", exclude={"id", "updated_at"})


async def _check(context: Context, values: dict[str, Any], *, other_than: UUID | None) -> None:
    """What a policy names is the tenant's, and its name is unused."""
    for field, (model, what) in REFERENCES.items():
        for index, row_id in enumerate(values.get(field) or []):
            if await context.uow.configuration.get(model, row_id) is None:
                raise invalid(f"{field}.{index}", f"no {what} with this id")
    policies = await context.uow.configuration.list_all(SlaPolicy, name=values["name"])
    if any(policy.id != other_than for policy in policies):
        raise conflict(f"an SLA policy {values['name']!r} exists already")


@router.get("/sla-policies", response_model=list[PolicyOut])
async def list_policies(context: Reading) -> list[PolicyOut]:
    """Every policy, in the order they are tried."""
    policies = await context.uow.configuration.list_all(SlaPolicy, SlaPolicy.position)
    return [PolicyOut.model_validate(policy) for policy in policies]


@router.post("/sla-policies", status_code=status.HTTP_201_CREATED, response_model=PolicyOut)
async def create_policy(body: PolicyIn, context: Managing) -> PolicyOut:
    values = body.model_dump()
    await _check(context, values, other_than=None)
    policy = await context.uow.configuration.add(SlaPolicy, **values)
    await audited(context, "sla_policy", policy.id, "create", new=_values(policy))
    await context.uow.commit()
    return PolicyOut.model_validate(policy)


@router.get("/sla-policies/{sla_policy_id}", response_model=PolicyOut)
async def get_policy(sla_policy_id: UUID, context: Reading) -> PolicyOut:
    return PolicyOut.model_validate(await found(context, SlaPolicy, sla_policy_id, "SLA policy"))


@router.patch("/sla-policies/{sla_policy_id}", response_model=PolicyOut)
async def update_policy(sla_policy_id: UUID, body: PolicyPatch, context: Managing) -> PolicyOut:
    """Change what is given (null clears the next-response or resolution target, or the
    warning); conversations it applied to keep the terms they were given."""
    policy = await found(context, SlaPolicy, sla_policy_id, "SLA policy")
    old = _values(policy)
    changes = body.model_dump(exclude_unset=True)
    current = {name: getattr(policy, name) for name in PolicyPatch.model_fields}
    await _check(context, {**current, **changes}, other_than=policy.id)
    patch(policy, changes, nullable=NULLABLE)
    await context.uow.session.flush()
    await context.uow.session.refresh(policy)
    await audited(context, "sla_policy", policy.id, "update", old=old, new=_values(policy))
    await context.uow.commit()
    return PolicyOut.model_validate(policy)


@router.delete(
    "/sla-policies/{sla_policy_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={409: {"description": "It applied to conversations: deactivate it instead"}},
)
async def delete_policy(sla_policy_id: UUID, context: Managing) -> None:
    """Delete a policy that never applied to a conversation (one that did keeps its history:
    set ``active`` to false instead)."""
    policy = await found(context, SlaPolicy, sla_policy_id, "SLA policy")
    if await context.uow.service_levels.in_use(policy_id=policy.id):
        raise conflict("this policy applied to conversations: set active to false instead")
    await deleted(context, policy, "sla_policy", _values(policy))


class HolidayIn(Body):
    day: date
    name: Name
    property_id: Annotated[
        UUID | None, Field(description="the property closed that day (null: every property)")
    ] = None


class HolidayOut(Out):
    id: UUID
    day: date
    name: str
    property_id: UUID | None


@router.get("/holidays", response_model=list[HolidayOut])
async def list_holidays(context: ReadingHolidays) -> list[HolidayOut]:
    rows = await context.uow.configuration.list_all(Holiday, Holiday.day)
    return [HolidayOut.model_validate(row) for row in rows]


@router.post("/holidays", status_code=status.HTTP_201_CREATED, response_model=HolidayOut)
async def create_holiday(body: HolidayIn, context: ManagingHolidays) -> HolidayOut:
    values = body.model_dump()
    if (
        body.property_id is not None
        and await context.uow.configuration.get(Property, body.property_id) is None
    ):
        raise invalid("property_id", "no property with this id")
    same_day = await context.uow.configuration.list_all(
        Holiday, day=body.day, property_id=body.property_id
    )
    if same_day:
        raise conflict(f"{body.day} is a holiday there already")
    row = await context.uow.configuration.add(Holiday, **values)
    out = HolidayOut.model_validate(row)
    await audited(context, "holiday", row.id, "create", new=out.model_dump(mode="json"))
    await context.uow.commit()
    return out


@router.delete("/holidays/{holiday_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_holiday(holiday_id: UUID, context: ManagingHolidays) -> None:
    row = await found(context, Holiday, holiday_id, "holiday")
    await deleted(context, row, "holiday", HolidayOut.model_validate(row).model_dump(mode="json"))


class DeadlineOut(BaseModel):
    conversation_id: UUID
    status: str
    priority: str
    kind: str
    due_at: datetime
    minutes_left: int  # negative: overdue
    breached: bool


@router.get("/sla-deadlines", response_model=list[DeadlineOut])
async def list_deadlines(
    context: ReadingHolidays,
    within_minutes: Annotated[int, Query(ge=0, le=10_080)] = 60,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DeadlineOut]:
    """The running SLA targets of the caller's conversations due within ``within_minutes``
    (overdue ones included), soonest first."""
    now = datetime.now(UTC)
    found_deadlines = await context.uow.service_levels.deadlines(
        before=now + timedelta(minutes=within_minutes), limit=limit
    )
    scope = await caller_scope(context)
    return [
        DeadlineOut(
            conversation_id=row.conversation_id,
            status=row.status,
            priority=row.priority,
            kind=row.kind,
            due_at=row.due_at,
            minutes_left=math.floor((row.due_at - now).total_seconds() / 60),
            breached=row.breached,
        )
        for row in found_deadlines
        if can_see(scope, assignee_id=row.assignee_id, team_id=row.team_id)
    ]
