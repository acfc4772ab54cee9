"""planner: a reservation changed, so its scheduled messages are planned again.

One ``scheduled_messages`` row per reservation and active time-based trigger. The plan itself
is ``domain.scheduling.plan`` (pure); this handler reads the stay, the property's time zone and
send times, and applies the plan to the rows:

- a new rule gets a row (scheduled, or skipped with its reason);
- a waiting row moves with the dates, unless staff edited it;
- a cancelled (or no-show, or checked-out) reservation cancels every waiting row;
- a row that was never sent may come back when the stay qualifies again, unless staff edited it;
- a sent row is never touched: a guest never gets the same message twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from uuid import UUID

import structlog

from domain.events import ReservationChanged
from domain.scheduling import InvalidRuleError, Plan, Stay, plan, rule_from_conditions
from persistence.models import ScheduledMessage
from persistence.repositories.scheduling import StayRecord
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer

NAME = "planner"
Clock = Callable[[], datetime]
DEFAULT_CHECK_IN, DEFAULT_CHECK_OUT = time(15), time(11)
log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def stay_of(record: StayRecord) -> Stay:
    reservation, settings = record.reservation, record.settings
    return Stay(
        check_in=reservation.check_in,
        check_out=reservation.check_out,
        check_in_time=reservation.check_in_time
        or (settings.check_in_time if settings else DEFAULT_CHECK_IN),
        check_out_time=reservation.check_out_time
        or (settings.check_out_time if settings else DEFAULT_CHECK_OUT),
        booked_at=reservation.booked_at or reservation.created_at,
        timezone=record.property.timezone,
        status=reservation.status,
        language=record.guest.language,
    )


def send_times(record: StayRecord) -> dict[str, time]:
    settings = record.settings
    if settings is None:
        return {"T_MINUS_3": time(10), "T_MINUS_1": time(10), "DAY_OF": time(9)}
    return {
        "T_MINUS_3": settings.t_minus_3_at,
        "T_MINUS_1": settings.t_minus_1_at,
        "DAY_OF": settings.day_of_at,
    }


def _apply(row: ScheduledMessage, planned: Plan, now: datetime) -> None:
    row.status = planned.status
    row.due_at = planned.due_at
    row.reason = planned.reason
    row.handled_at = None if planned.status == "scheduled" else now


async def replan(uow: UnitOfWork, *, reservation_id: UUID, now: datetime) -> int:
    """Bring the reservation's rows in line with its stay; returns the rows written."""
    record = await uow.schedule.stay(reservation_id=reservation_id)
    if record is None:  # deleted meanwhile: its rows went with it
        return 0
    stay, times = stay_of(record), send_times(record)
    existing = {
        row.trigger_id: row
        for row in await uow.schedule.list_for(
            reservation_id=reservation_id, for_update=True, kind="time_based"
        )
    }
    written = 0
    rules = await uow.schedule.rules(property_id=record.property.id)
    for rule in rules:
        try:
            planned = plan(
                rule_from_conditions(rule.template.rule_key, rule.trigger.conditions, times),
                stay,
                now=now,
            )
        except InvalidRuleError as exc:
            planned = Plan("skipped", now, f"trigger {rule.trigger.name!r}: {exc}")
        row = existing.pop(rule.trigger.id, None)
        if row is None:
            if planned.status != "cancelled":
                await uow.schedule.add(
                    reservation_id=reservation_id,
                    trigger_id=rule.trigger.id,
                    template_id=rule.template.id,
                    rule_key=rule.template.rule_key,
                    status=planned.status,
                    due_at=planned.due_at,
                    reason=planned.reason,
                    handled_at=None if planned.status == "scheduled" else now,
                )
                written += 1
            continue
        if row.status in ("sent", "failed") or row.message_id is not None:
            continue
        ended = planned.status == "cancelled"
        if row.edited_by_staff and not (ended and row.status == "scheduled"):
            continue
        waiting = row.status == "scheduled" or planned.status == "scheduled"
        if waiting and (row.status, row.due_at, row.reason) != (
            planned.status,
            planned.due_at,
            planned.reason,
        ):
            _apply(row, planned, now)
            row.template_id = rule.template.id
            written += 1
    # Rules switched off since: their waiting rows are not sent.
    for row in existing.values():
        if row.status == "scheduled" and not row.edited_by_staff:
            _apply(row, Plan("cancelled", row.due_at, "the trigger is no longer active"), now)
            written += 1
    await uow.session.flush()
    return written


async def handle(event: ReservationChanged, uow: UnitOfWork, *, clock: Clock = utc_now) -> None:
    written = await replan(uow, reservation_id=event.reservation_id, now=clock())
    log.debug("reservation planned", reservation_id=str(event.reservation_id), rows=written)


def consumer(*, clock: Clock = utc_now) -> Consumer:
    async def handle_changed(event: ReservationChanged, uow: UnitOfWork) -> None:
        await handle(event, uow, clock=clock)

    return Consumer(
        name=NAME,
        routing_keys=(ReservationChanged.routing_key,),
        event_types=(ReservationChanged,),
        handle=handle_changed,
    )
