"""The scheduler's part of condition triggers: what happens because time passed.

- Waiting firings (a trigger with ``delay_minutes``: "no staff reply within 15 minutes of an
  escalation") are decided once due, each locked (``FOR UPDATE SKIP LOCKED``) in its tenant's
  transaction: fired, or not met.
- ``check_out.day`` triggers: a stay whose check-out day plus ``offset_days`` has reached the
  trigger's local time ``at`` (in the property's zone) is decided once, fired or recorded not
  met; a moment more than a day past (a trigger made later, a scheduler long down) is let go.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from domain.scheduling import local_instant
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.triggers.firing import Occurrence, decide_waiting, occur, rule_of

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
CHECK_OUT_EVENT = "check_out.day"
# How late a day-after-check-out moment may still be acted on.
GRACE = timedelta(days=1)
DEPARTURES_EVERY = timedelta(minutes=1)


async def departures(uow: UnitOfWork, *, now: datetime) -> int:
    """Decide every check-out-day trigger whose moment has come for a stay; how many."""
    decided = 0
    for trigger in await uow.condition_triggers.active_for(event=CHECK_OUT_EVENT):
        rule = rule_of(trigger)
        if rule is None:
            continue
        today = now.date()
        stays = await uow.condition_triggers.departures(
            trigger_id=trigger.id,
            check_out_from=today - timedelta(days=rule.offset_days + 2),
            check_out_to=today - timedelta(days=rule.offset_days - 1),
        )
        for stay in stays:
            day = stay.reservation.check_out + timedelta(days=rule.offset_days)
            moment = local_instant(day, rule.at, stay.timezone)
            if not moment <= now < moment + GRACE:
                continue
            occurrence = Occurrence(
                CHECK_OUT_EVENT,
                f"reservation:{stay.reservation.id}",
                moment,
                reservation_id=stay.reservation.id,
            )
            await occur(uow, occurrence, now=now, triggers=[trigger], record_unmet=True)
            decided += 1
    return decided


class TriggerSweeper:
    """Waiting firings every sweep; departures at most every ``DEPARTURES_EVERY`` (a stay's
    moment is a time of day: a minute late is on time, and idle tenants cost nothing)."""

    def __init__(self, *, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._departures_due: datetime | None = None

    async def run_due(self) -> int:
        """Decide what is due in every tenant; how many firings were decided."""
        now = self._clock()
        with_departures = self._departures_due is None or now >= self._departures_due
        if with_departures:
            self._departures_due = now + DEPARTURES_EVERY
        async with self._uow_factory.system() as system:
            tenants = await system.due_trigger_tenants(now=now, departures=with_departures)
        decided = 0
        for tenant_id in tenants:
            try:
                decided += await self.run_tenant(
                    tenant_id, now=now, with_departures=with_departures
                )
            except Exception:  # one tenant's trouble must not stop the others
                log.exception("condition trigger sweep failed", tenant_id=str(tenant_id))
        return decided

    async def run_tenant(
        self, tenant_id: UUID, *, now: datetime, with_departures: bool = True
    ) -> int:
        async with self._uow_factory(tenant_id) as uow:
            waiting = await uow.condition_triggers.due_waiting(now=now)
            for firing in waiting:
                await decide_waiting(uow, firing, now=now)
            decided = len(waiting)
            if with_departures:
                decided += await departures(uow, now=now)
            await uow.commit()
        return decided
