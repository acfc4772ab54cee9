"""When staff are on duty at a property, per ISO weekday (1 = Monday): read with
``conversations.read``, replaced as a whole week with ``tenant.manage``. A day absent is a day
off; a day opens before it closes (the table keeps no overnight shifts: split one at midnight).
"""

from __future__ import annotations

from datetime import time
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import Field

from persistence.models import BusinessHours, Property
from workers.api.config_rows import audited, found
from workers.api.problems import invalid
from workers.api.schemas import Body, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/properties", tags=["properties"])
Read = Annotated[Context, Depends(require("conversations.read"))]
Manage = Annotated[Context, Depends(require("tenant.manage"))]


class DayIn(Body):
    weekday: Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 = Monday")]
    opens_at: time
    closes_at: time


class WeekIn(Body):
    days: Annotated[list[DayIn], Field(max_length=7)]


class DayOut(Out):
    weekday: int
    opens_at: time
    closes_at: time


def _checked(body: WeekIn) -> list[tuple[int, time, time]]:
    seen: set[int] = set()
    for index, day in enumerate(body.days):
        if day.weekday in seen:
            raise invalid(f"days.{index}.weekday", f"weekday {day.weekday} is given twice")
        seen.add(day.weekday)
        if day.closes_at <= day.opens_at:
            raise invalid(f"days.{index}.closes_at", "must be after opens_at (same day)")
    return sorted((day.weekday, day.opens_at, day.closes_at) for day in body.days)


def _week(rows: list[BusinessHours]) -> list[dict[str, object]]:
    return [DayOut.model_validate(row).model_dump(mode="json") for row in rows]


@router.get("/{property_id}/business-hours", response_model=list[DayOut])
async def get_business_hours(property_id: UUID, context: Read) -> list[DayOut]:
    prop = await found(context, Property, property_id, "property")
    rows = await context.uow.configuration.list_all(
        BusinessHours, BusinessHours.weekday, property_id=prop.id
    )
    return [DayOut.model_validate(row) for row in rows]


@router.put("/{property_id}/business-hours", response_model=list[DayOut])
async def put_business_hours(property_id: UUID, body: WeekIn, context: Manage) -> list[DayOut]:
    """Replace the property's week: the days given, and no others."""
    week = _checked(body)
    prop = await found(context, Property, property_id, "property")
    before = await context.uow.configuration.list_all(
        BusinessHours, BusinessHours.weekday, property_id=prop.id
    )
    old = {"days": _week(before)}
    rows = await context.uow.configuration.replace_hours(property_id=prop.id, week=week)
    await audited(context, "business_hours", prop.id, "replace", old=old, new={"days": _week(rows)})
    await context.uow.commit()
    return [DayOut.model_validate(row) for row in rows]
