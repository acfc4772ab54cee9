"""The demo's arriving guests: seeded stays whose pre-arrival messages fall due at once (the T-3
of a stay booked for tomorrow is late, so it goes now), which the scheduler hands over and
`frontdesk demo` lists as sent."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from domain.events import ReservationChanged
from persistence.crypto import SecretCipher
from persistence.demo.tenants import DEMO_TENANTS
from persistence.models import Reservation
from persistence.seed import seed_demo
from persistence.uow import UnitOfWorkFactory
from workers.consumers import planner
from workers.demo import render_schedule, scheduled
from workers.scheduler.handover import Scheduler
from workers.settings import Settings


async def test_the_demo_shows_the_arriving_guests_pre_arrival_message_sent(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> None:
    await seed_demo(uow_factory, cipher=SecretCipher.from_settings(database))
    now = datetime.now(UTC)
    arriving = [demo for demo in DEMO_TENANTS if demo.arriving_guest is not None]
    assert arriving
    for demo in arriving:  # what the planner consumer does with the seed's reservation.changed
        async with uow_factory(demo.tenant_id) as uow:
            stays = (await uow.session.scalars(select(Reservation))).all()
            for stay in stays:
                event = ReservationChanged(
                    tenant_id=demo.tenant_id, reservation_id=stay.id, status=stay.status
                )
                await planner.handle(event, uow, clock=lambda: now)
            await uow.commit()
    await Scheduler(uow_factory=uow_factory, clock=lambda: now).run_due()
    # A T-3 falling in a tenant's quiet hours (property time) is held until they end: the
    # scheduler sends it then.
    held = [
        row["due_at"]
        for row in await scheduled(database)
        if row["rule_key"] == "T_MINUS_3" and row["status"] == "scheduled"
    ]
    if held:
        later = max(held)
        assert isinstance(later, datetime)
        await Scheduler(uow_factory=uow_factory, clock=lambda: later).run_due()

    rows = await scheduled(database)
    for demo in arriving:
        guest = demo.arriving_guest[0] if demo.arriving_guest else None
        mine = [row for row in rows if row["tenant"] == demo.slug]
        assert {row["rule_key"] for row in mine} >= {"T_MINUS_3", "T_MINUS_1", "DAY_OF"}
        [early] = [row for row in mine if row["rule_key"] == "T_MINUS_3"]
        assert (early["guest"], early["status"], early["message_status"]) == (
            guest,
            "sent",
            "pending",
        ), early
    table = render_schedule(rows)
    assert table.row_count == len(rows)
