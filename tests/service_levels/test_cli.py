"""`frontdesk sla deadlines` and `frontdesk sla sweep` against the test database (one run of
each: a process start costs seconds on a busy machine)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from persistence.uow import UnitOfWorkFactory
from tests.scheduling.test_cli import frontdesk
from tests.service_levels.conftest import MakeDesk
from workers.scheduler.service_levels import ServiceLevelSweeper
from workers.settings import Settings


async def test_deadlines_lists_what_is_near_and_sweep_records_the_breach_once(
    database: Settings, desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk(warning_percent=None, resolution_minutes=None)
    now = datetime.now(UTC)
    conversation_id = await hotel.write("Anyone there?", now - timedelta(minutes=61))

    listed = frontdesk(database, "sla", "deadlines", "--tenant", str(hotel.tenant_id))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0] == "1 due within 60 min"
    assert str(conversation_id) in lines[1]
    assert "first_response" in lines[1]
    assert "overdue" in lines[1]

    swept = frontdesk(database, "sla", "sweep")
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.strip().endswith("conversations checked")
    # The scheduler's own sweeper after it finds nothing more to record.
    await ServiceLevelSweeper(uow_factory=uow_factory, clock=lambda: datetime.now(UTC)).check(
        tenant_id=hotel.tenant_id, conversation_id=conversation_id
    )
    counts = await hotel.counts(conversation_id)
    assert (counts["breaches"], counts["notifications"]) == ({"first_response": 1}, 1)
    async with uow_factory(hotel.tenant_id) as uow:
        (deadline,) = await uow.service_levels.deadlines(before=now, limit=10)
    assert deadline.breached
