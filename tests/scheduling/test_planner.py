"""The planner on the real database: rows per reservation and rule, moved with the dates
(staff-edited rows left alone), cancelled with the stay, late bookings by policy."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from persistence.models import ScheduledMessage
from persistence.uow import UnitOfWorkFactory
from tests.conftest import TenantFixture
from tests.scheduling.conftest import MakeReservation, MakeRules, changed
from workers.consumers import planner

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


async def plan_now(
    uow_factory: UnitOfWorkFactory, tenant: TenantFixture, reservation_id: UUID, now: datetime = NOW
) -> dict[str, ScheduledMessage]:
    async with uow_factory(tenant.tenant_id) as uow:
        await planner.handle(changed(tenant, reservation_id), uow, clock=lambda: now)
        await uow.commit()
    return await rows(uow_factory, tenant, reservation_id)


async def rows(
    uow_factory: UnitOfWorkFactory, tenant: TenantFixture, reservation_id: UUID
) -> dict[str, ScheduledMessage]:
    async with uow_factory(tenant.tenant_id) as uow:
        found = await uow.schedule.list_for(reservation_id=reservation_id)
        uow.session.expunge_all()  # read after the unit of work rolls back
    return {row.rule_key: row for row in found}


async def test_rows_fall_at_local_send_times_across_spring_forward(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules(timezone="Europe/Berlin")
    # Check-in Tuesday 2026-03-31: T-3 on the 28th (CET), T-1 on the 30th (CEST).
    stay = await make_reservation(rules.tenant, check_in=date(2026, 3, 31))
    planned = await plan_now(uow_factory, rules.tenant, stay)
    assert {key: (row.status, row.due_at) for key, row in planned.items()} == {
        "T_MINUS_3": ("scheduled", datetime(2026, 3, 28, 9, tzinfo=UTC)),
        "T_MINUS_1": ("scheduled", datetime(2026, 3, 30, 8, tzinfo=UTC)),
        "DAY_OF": ("scheduled", datetime(2026, 3, 31, 7, tzinfo=UTC)),
    }
    again = await plan_now(uow_factory, rules.tenant, stay)  # a redelivered event
    assert {k: (r.id, r.due_at) for k, r in again.items()} == {
        k: (r.id, r.due_at) for k, r in planned.items()
    }


async def test_a_date_change_moves_waiting_rows_and_leaves_an_edited_one_alone(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules(timezone="America/New_York")
    ref = "PMS-move"
    stay = await make_reservation(rules.tenant, check_in=date(2026, 3, 20), external_ref=ref)
    before = await plan_now(uow_factory, rules.tenant, stay)
    async with uow_factory(rules.tenant.tenant_id) as uow:
        edited = await uow.schedule.get(scheduled_id=before["T_MINUS_3"].id, for_update=True)
        assert edited is not None
        edited.edited_by_staff = True
        edited.custom_body = "See you soon!"
        await uow.commit()
    same = await make_reservation(rules.tenant, check_in=date(2026, 3, 25), external_ref=ref)
    assert same == stay
    after = await plan_now(uow_factory, rules.tenant, stay)
    assert after["T_MINUS_1"].due_at == datetime(2026, 3, 24, 14, tzinfo=UTC)  # 10:00 EDT
    assert after["DAY_OF"].due_at == datetime(2026, 3, 25, 13, tzinfo=UTC)  # 09:00 EDT
    assert after["T_MINUS_3"].due_at == before["T_MINUS_3"].due_at
    assert after["T_MINUS_3"].custom_body == "See you soon!"


async def test_a_cancelled_reservation_cancels_every_waiting_row(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules()
    ref = "PMS-cancel"
    stay = await make_reservation(rules.tenant, check_in=date(2026, 4, 10), external_ref=ref)
    before = await plan_now(uow_factory, rules.tenant, stay)
    async with uow_factory(rules.tenant.tenant_id) as uow:
        edited = await uow.schedule.get(scheduled_id=before["DAY_OF"].id, for_update=True)
        assert edited is not None
        edited.edited_by_staff = True
        await uow.commit()
    await make_reservation(
        rules.tenant, check_in=date(2026, 4, 10), external_ref=ref, status="cancelled"
    )
    after = await plan_now(uow_factory, rules.tenant, stay)
    assert {key: (row.status, row.reason) for key, row in after.items()} == dict.fromkeys(
        before, ("cancelled", "reservation cancelled")
    )


async def test_a_late_booking_follows_the_trigger_policy(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules(
        timezone="Europe/Berlin", conditions={"T_MINUS_1": {"late_booking": "skip"}}
    )
    booked = datetime(2026, 5, 9, 16, tzinfo=UTC)  # 18:00 in Berlin, the day before arrival
    stay = await make_reservation(rules.tenant, check_in=date(2026, 5, 10), now=booked)
    planned = await plan_now(uow_factory, rules.tenant, stay, now=booked)
    assert (planned["T_MINUS_3"].status, planned["T_MINUS_3"].due_at) == ("scheduled", booked)
    assert planned["T_MINUS_1"].status == "skipped"
    assert planned["T_MINUS_1"].reason == (
        "booked after the rule's moment (late-booking policy: skip)"
    )
    assert (planned["DAY_OF"].status, planned["DAY_OF"].due_at) == (
        "scheduled",
        datetime(2026, 5, 10, 7, tzinfo=UTC),
    )


async def test_a_rule_switched_off_cancels_its_waiting_rows(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules(rules=("T_MINUS_1",))
    stay = await make_reservation(rules.tenant, check_in=date(2026, 6, 10))
    await plan_now(uow_factory, rules.tenant, stay)
    async with uow_factory(rules.tenant.tenant_id) as uow:
        for trigger in await uow.triggers.list_active():
            trigger.active = False
        await uow.commit()
    after = await plan_now(uow_factory, rules.tenant, stay)
    assert after["T_MINUS_1"].status == "cancelled"
