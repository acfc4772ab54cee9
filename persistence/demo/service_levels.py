"""The demo tenants' service levels by vertical, so SLA deadlines show in the inbox from the
first message:

- the hotel group (Aurora): the front desk never closes (calendar clock): urgent and
  high-priority conversations answered within 5 minutes, the others within 15, every next
  answer within 30, resolved within a day;
- the rental manager (Seaside Stays): the office answers 08:00-20:00 every day (business-hours
  clock): first answer within an hour, next within two, resolved within two working days;
- the restaurant (Trattoria Roma): lunch 12:00-15:00 and dinner 19:00-23:30 from Tuesday to
  Sunday (split shifts, closed on Mondays and on Christmas Day); the booking bot's answer counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, time
from typing import Any
from uuid import UUID

from persistence.models import BusinessHours, Holiday, SlaPolicy
from persistence.uow import UnitOfWork

EVERY_DAY = range(1, 8)
POLICIES: dict[str, tuple[dict[str, Any], ...]] = {
    "hotel": (
        {
            "name": "Urgent guests",
            "priorities": ["high", "urgent"],
            "position": 10,
            "first_response_minutes": 5,
            "next_response_minutes": 10,
            "resolution_minutes": 240,
        },
        {
            "name": "Guest messages",
            "first_response_minutes": 15,
            "next_response_minutes": 30,
            "resolution_minutes": 1440,
        },
    ),
    "vacation_rental": (
        {
            "name": "Office hours",
            "clock": "business_hours",
            "first_response_minutes": 60,
            "next_response_minutes": 120,
            "resolution_minutes": 1440,
        },
    ),
    "restaurant": (
        {
            "name": "Service hours",
            "clock": "business_hours",
            "first_response_minutes": 30,
            "next_response_minutes": 30,
            "bot_reply_counts": True,
        },
    ),
}
# (weekday, opens, closes) shifts at the tenant's first property.
SHIFTS: dict[str, tuple[tuple[int, time, time], ...]] = {
    "vacation_rental": tuple((day, time(8), time(20)) for day in EVERY_DAY),
    "restaurant": tuple(
        shift
        for day in range(2, 8)
        for shift in ((day, time(12), time(15)), (day, time(19), time(23, 30)))
    ),
}
HOLIDAYS: dict[str, tuple[tuple[date, str], ...]] = {
    "restaurant": ((date(2026, 12, 25), "Natale"), (date(2027, 12, 25), "Natale")),
}


async def seed_service_levels(uow: UnitOfWork, vertical: str, property_ids: Sequence[UUID]) -> None:
    """A demo tenant's SLA policies, its first property's shifts and holidays."""
    configuration = uow.configuration
    for values in POLICIES.get(vertical, ()):
        await configuration.add(SlaPolicy, warning_percent=80, **values)
    for weekday, opens_at, closes_at in SHIFTS.get(vertical, ()):
        await configuration.add(
            BusinessHours,
            property_id=property_ids[0],
            weekday=weekday,
            opens_at=opens_at,
            closes_at=closes_at,
        )
    for day, name in HOLIDAYS.get(vertical, ()):
        await configuration.add(Holiday, property_id=property_ids[0], day=day, name=name)
