"""`frontdesk sla deadlines` and `frontdesk sla sweep` against the test database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.scheduling.test_cli import frontdesk
from tests.service_levels.conftest import MakeDesk
from workers.settings import Settings


async def test_deadlines_lists_what_is_near_and_sweep_records_the_breach_once(
    database: Settings, desk: MakeDesk
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

    for _ in range(2):
        swept = frontdesk(database, "sla", "sweep")
        assert swept.returncode == 0, swept.stderr
    assert (await hotel.counts(conversation_id))["breaches"] == {"first_response": 1}
    assert (await hotel.counts(conversation_id))["notifications"] == 1
    listed = frontdesk(database, "sla", "deadlines", "--tenant", str(hotel.tenant_id))
    assert "BREACHED" in listed.stdout

    unknown = frontdesk(database, "sla", "deadlines", "--tenant", "not-a-uuid")
    assert unknown.returncode == 2
