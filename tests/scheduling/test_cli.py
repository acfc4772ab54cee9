"""`frontdesk reservations import` and `frontdesk schedule preview` against the test database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import func, select

from persistence.models import Reservation
from persistence.uow import UnitOfWorkFactory
from tests.scheduling.conftest import MakeReservation, MakeRules, changed
from workers.consumers import planner
from workers.settings import Settings


def frontdesk(database: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        env={
            **os.environ,
            "FRONTDESK_DATABASE_URL": database.database_url,
            "FRONTDESK_MIGRATION_DATABASE_URL": database.migration_database_url,
            "FRONTDESK_LOG_JSON": "false",
        },
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


async def test_import_reports_rows_accepted_and_refused_with_the_reason(
    database: Settings,
    uow_factory: UnitOfWorkFactory,
    make_rules: MakeRules,
    tmp_path: Path,
) -> None:
    rules = await make_rules(rules=("T_MINUS_1",))
    prop = rules.tenant.property_id
    export = tmp_path / "pms.csv"
    export.write_text(
        "external_ref,property_id,guest_name,phone,email,check_in,check_out,room\n"
        f"R-1,{prop},Anna Schmidt,+4915123456789,,2026-07-10,2026-07-12,204\n"
        f"R-2,{prop},Ben Weber,,ben@example.com,2026-07-11,2026-07-09,\n"
        f"R-3,{prop},Cleo Roth,12,,2026-07-11,2026-07-13,\n"
        f"R-4,{prop},Dana Kurz,,dana@example.com,2026-07-11,2026-07-13,\n"
        f",{prop},Nobody,+4915123456780,,2026-07-11,2026-07-13,\n",
        encoding="utf-8",
    )
    result = frontdesk(
        database, "reservations", "import", str(export), "--tenant", str(rules.tenant.tenant_id)
    )
    assert result.returncode == 1, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "2 accepted, 3 refused"
    assert lines[1:] == [
        "  line 3: check_out: must not be before check_in",
        "  line 4: phone: not a valid phone number",
        "  line 6: external_ref: is required",
    ]
    async with uow_factory(rules.tenant.tenant_id) as uow:
        refs = set((await uow.session.execute(select(Reservation.external_ref))).scalars().all())
        assert await uow.session.scalar(select(func.count()).select_from(Reservation)) == 2
    assert refs == {"R-1", "R-4"}


async def test_schedule_preview_shows_what_the_guest_will_receive(
    database: Settings,
    uow_factory: UnitOfWorkFactory,
    make_rules: MakeRules,
    make_reservation: MakeReservation,
) -> None:
    rules = await make_rules(rules=("T_MINUS_1",))
    stay = await make_reservation(rules.tenant, check_in=date(2030, 5, 10))
    async with uow_factory(rules.tenant.tenant_id) as uow:
        await planner.handle(
            changed(rules.tenant, stay), uow, clock=lambda: datetime(2030, 1, 1, tzinfo=UTC)
        )
        await uow.commit()
    result = frontdesk(
        database,
        "schedule",
        "preview",
        "--reservation",
        str(stay),
        "--tenant",
        str(rules.tenant.tenant_id),
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:4] == [
        "2030-05-09T08:00:00+00:00",
        "T_MINUS_1",
        "scheduled",
        "green_api",
    ]
    assert lines[1].strip() == "Hi Anna, tomorrow at Main from 15:00."
