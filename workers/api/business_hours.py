"""When staff are on duty, a property's or a team's, as shifts on ISO weekdays (1 = Monday):
read with ``conversations.read``, replaced as a whole week with ``tenant.manage``. A day absent
is a day off; several shifts on a day are split shifts; an ``overnight`` shift ends the next day
at ``closes_at`` (opens = closes overnight: 24 hours). Shifts may not overlap. A team's hours,
where it has any, are the ones its conversations' SLA clocks count (in the property's time
zone); otherwise the property's.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, Field

from domain.service_levels import Shift, overlapping_shifts, shift_problem
from persistence.models import BusinessHours, Property, Team
from workers.api.config_rows import audited, found
from workers.api.problems import invalid
from workers.api.schemas import Body, Out
from workers.api.security import Context, require

router = APIRouter(tags=["properties"])


def _local(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("give the local time without an offset (the property's time zone)")
    return value


LocalTime = Annotated[time, AfterValidator(_local)]
Read = Annotated[Context, Depends(require("conversations.read"))]
Manage = Annotated[Context, Depends(require("tenant.manage"))]


class DayIn(Body):
    weekday: Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 = Monday")]
    opens_at: LocalTime
    closes_at: LocalTime
    overnight: Annotated[
        bool, Field(description="the shift ends the next day (closes_at <= opens_at)")
    ] = False


class WeekIn(Body):
    days: Annotated[list[DayIn], Field(max_length=50)]


class DayOut(Out):
    weekday: int
    opens_at: time
    closes_at: time
    overnight: bool


def _checked(body: WeekIn) -> list[Shift]:
    shifts = []
    for index, day in enumerate(body.days):
        problem = shift_problem(day.opens_at, day.closes_at, day.overnight)
        if problem is not None:
            raise invalid(f"days.{index}.closes_at", problem)
        shifts.append(Shift(day.weekday, day.opens_at, day.closes_at, day.overnight))
    overlap = overlapping_shifts(shifts)
    if overlap is not None:
        first, second = overlap
        raise invalid(f"days.{second}.opens_at", f"overlaps the shift at days.{first}")
    return sorted(shifts, key=lambda shift: (shift.weekday, shift.opens_at))


def _week(rows: list[BusinessHours]) -> list[dict[str, object]]:
    return [DayOut.model_validate(row).model_dump(mode="json") for row in rows]


async def _replace(
    context: Context, body: WeekIn, *, property_id: UUID | None = None, team_id: UUID | None = None
) -> list[DayOut]:
    week = _checked(body)
    owner = {"property_id": property_id} if property_id else {"team_id": team_id}
    before = await _hours(context, **owner)
    rows = await context.uow.configuration.replace_hours(**owner, week=week)
    resource, row_id = ("business_hours", property_id) if property_id else ("team_hours", team_id)
    new = {"days": _week(rows)}
    await audited(context, resource, row_id, "replace", old={"days": _week(before)}, new=new)
    await context.uow.commit()
    return [DayOut.model_validate(row) for row in rows]


async def _hours(context: Context, **owner: UUID | None) -> list[BusinessHours]:
    return await context.uow.configuration.list_all(
        BusinessHours, BusinessHours.weekday, BusinessHours.opens_at, **owner
    )


@router.get("/properties/{property_id}/business-hours", response_model=list[DayOut])
async def get_business_hours(property_id: UUID, context: Read) -> list[DayOut]:
    prop = await found(context, Property, property_id, "property")
    return [DayOut.model_validate(row) for row in await _hours(context, property_id=prop.id)]


@router.put("/properties/{property_id}/business-hours", response_model=list[DayOut])
async def put_business_hours(property_id: UUID, body: WeekIn, context: Manage) -> list[DayOut]:
    """Replace the property's week: the shifts given, and no others."""
    prop = await found(context, Property, property_id, "property")
    return await _replace(context, body, property_id=prop.id)


@router.get("/teams/{team_id}/business-hours", response_model=list[DayOut])
async def get_team_hours(team_id: UUID, context: Read) -> list[DayOut]:
    team = await found(context, Team, team_id, "team")
    return [DayOut.model_validate(row) for row in await _hours(context, team_id=team.id)]


@router.put("/teams/{team_id}/business-hours", response_model=list[DayOut])
async def put_team_hours(team_id: UUID, body: WeekIn, context: Manage) -> list[DayOut]:
    """Replace the team's week (none: the property's hours count for its conversations)."""
    team = await found(context, Team, team_id, "team")
    return await _replace(context, body, team_id=team.id)
