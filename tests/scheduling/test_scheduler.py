"""The scheduler on the real database: one outbound message per reservation and rule whatever
races it, quiet hours, the WhatsApp 24-hour rule, and the rendered text."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import select, update

from domain.events import Provider
from persistence.models import Message, ScheduledMessage, StaffNotification, WhatsAppTemplate
from persistence.uow import UnitOfWorkFactory
from tests.conftest import TenantFixture
from tests.scheduling.conftest import Clock, MakeReservation, MakeRules, changed
from workers.consumers import planner
from workers.scheduler import handover
from workers.scheduler.handover import Scheduler

SMS = {"provider": Provider.TWILIO_SMS, "address": "+4930123456"}


async def planned(
    uow_factory: UnitOfWorkFactory, tenant: TenantFixture, reservation_id: UUID, now: datetime
) -> None:
    async with uow_factory(tenant.tenant_id) as uow:
        await planner.handle(changed(tenant, reservation_id), uow, clock=lambda: now)
        await uow.commit()


async def schedule_rows(
    uow_factory: UnitOfWorkFactory, tenant: TenantFixture, reservation_id: UUID
) -> dict[str, ScheduledMessage]:
    async with uow_factory(tenant.tenant_id) as uow:
        rows = await uow.schedule.list_for(reservation_id=reservation_id)
        uow.session.expunge_all()
    return {row.rule_key: row for row in rows}


async def outbound(uow_factory: UnitOfWorkFactory, tenant: TenantFixture) -> list[Message]:
    async with uow_factory(tenant.tenant_id) as uow:
        rows = list(
            (
                await uow.session.execute(
                    select(Message)
                    .where(Message.direction == "outbound")
                    .order_by(Message.created_at)
                )
            ).scalars()
        )
        uow.session.expunge_all()
    return rows


async def test_two_schedulers_racing_make_one_message_per_rule(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules(timezone="Europe/Berlin", **SMS)
    stays = [
        await make_reservation(rules.tenant, check_in=date(2026, 4, 20), nights=3) for _ in range(4)
    ]
    for stay in stays:
        await planned(uow_factory, rules.tenant, stay, datetime(2026, 4, 1, tzinfo=UTC))
    clock = Clock(datetime(2026, 4, 20, 12, tzinfo=UTC))  # every T-3, T-1 and day-of is due
    schedulers = [Scheduler(uow_factory=uow_factory, clock=clock) for _ in range(3)]
    for _ in range(2):  # and again, as after a restart
        await asyncio.gather(*(scheduler.run_due() for scheduler in schedulers))
    messages = await outbound(uow_factory, rules.tenant)
    assert len(messages) == 4 * 3
    for stay in stays:
        rows = await schedule_rows(uow_factory, rules.tenant, stay)
        assert {row.status for row in rows.values()} == {"sent"}
        assert {row.message_id for row in rows.values()} <= {m.id for m in messages}
    first = messages[0]
    assert (first.status, first.sender_type, first.send_after) == ("pending", "system", clock.now)
    assert first.content is not None
    assert first.content.startswith("Hi Anna, ")


class Killed(BaseException):
    """The scheduler process dying: not an ``Exception``, so no handler of the sweep catches it."""


async def test_a_scheduler_killed_between_claim_and_commit_leaves_one_message_for_the_next(
    uow_factory: UnitOfWorkFactory,
    make_rules: MakeRules,
    make_reservation: MakeReservation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rules = await make_rules(timezone="Europe/Berlin", rules=("T_MINUS_1",), **SMS)
    stay = await make_reservation(rules.tenant, check_in=date(2026, 4, 20), nights=2)
    await planned(uow_factory, rules.tenant, stay, datetime(2026, 4, 1, tzinfo=UTC))
    clock = Clock(datetime(2026, 4, 19, 12, tzinfo=UTC))
    real_settle = handover.settle

    async def settle_then_die(*args: Any, **kwargs: Any) -> Any:
        await real_settle(*args, **kwargs)  # the row is claimed and its message inserted ...
        raise Killed  # ... and the process dies before the commit

    monkeypatch.setattr(handover, "settle", settle_then_die)
    with pytest.raises(Killed):
        await Scheduler(uow_factory=uow_factory, clock=clock).run_due()
    assert await outbound(uow_factory, rules.tenant) == []
    assert {r.status for r in (await schedule_rows(uow_factory, rules.tenant, stay)).values()} == {
        "scheduled"
    }
    monkeypatch.setattr(handover, "settle", real_settle)
    restarted = Scheduler(uow_factory=uow_factory, clock=clock)
    await restarted.run_due()
    await restarted.run_due()
    [message] = await outbound(uow_factory, rules.tenant)
    [row] = (await schedule_rows(uow_factory, rules.tenant, stay)).values()
    assert (row.status, row.message_id) == ("sent", message.id)


async def test_quiet_hours_hold_a_message_until_they_end_locally(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules(
        timezone="America/New_York",
        rules=("T_MINUS_1",),
        conditions={"T_MINUS_1": {"send_at": "06:00"}},
        quiet_hours_start=time(22),
        quiet_hours_end=time(7),
        **SMS,
    )
    stay = await make_reservation(rules.tenant, check_in=date(2026, 11, 2))
    await planned(uow_factory, rules.tenant, stay, datetime(2026, 10, 1, tzinfo=UTC))
    # T-1 at 06:00 local on 2026-11-01, the day New York falls back: 11:00 UTC.
    clock = Clock(datetime(2026, 11, 1, 11, tzinfo=UTC))
    scheduler = Scheduler(uow_factory=uow_factory, clock=clock)
    # The sweep spans tenants (other tests' rows too): this tenant's rows tell what happened.
    await scheduler.run_due()
    row = (await schedule_rows(uow_factory, rules.tenant, stay))["T_MINUS_1"]
    assert (row.status, row.due_at) == ("scheduled", datetime(2026, 11, 1, 12, tzinfo=UTC))
    assert row.reason == "held until quiet hours end"
    clock.now += timedelta(minutes=59)
    await scheduler.run_due()
    assert await outbound(uow_factory, rules.tenant) == []
    clock.now += timedelta(minutes=1)
    await scheduler.run_due()
    row = (await schedule_rows(uow_factory, rules.tenant, stay))["T_MINUS_1"]
    assert row.status == "sent"
    assert len(await outbound(uow_factory, rules.tenant)) == 1


async def _whatsapp_stay(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> tuple[TenantFixture, list[UUID], Clock]:
    rules = await make_rules(timezone="Europe/Madrid", rules=("T_MINUS_1",))
    assert rules.tenant.provider is Provider.GREEN_API
    stays = [await make_reservation(rules.tenant, check_in=date(2026, 7, 10)) for _ in range(2)]
    for stay in stays:
        await planned(uow_factory, rules.tenant, stay, datetime(2026, 6, 1, tzinfo=UTC))
    return rules.tenant, stays, Clock(datetime(2026, 7, 9, 8, 30, tzinfo=UTC))


async def test_whatsapp_outside_24_hours_without_an_approved_template_is_skipped_once_told(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    tenant, stays, clock = await _whatsapp_stay(uow_factory, make_rules, make_reservation)
    await Scheduler(uow_factory=uow_factory, clock=clock).run_due()
    for stay in stays:
        assert (await schedule_rows(uow_factory, tenant, stay))["T_MINUS_1"].status == "skipped"
    row = (await schedule_rows(uow_factory, tenant, stays[0]))["T_MINUS_1"]
    assert row.reason == (
        "WhatsApp 24-hour window closed and no approved WhatsApp template 't_minus_1'"
    )
    assert await outbound(uow_factory, tenant) == []
    async with uow_factory(tenant.tenant_id) as uow:
        notices = (await uow.session.execute(select(StaffNotification.detail))).scalars().all()
    assert len(notices) == 1
    assert "t_minus_1" in notices[0]


async def test_whatsapp_outside_24_hours_with_an_approved_template_sends_it(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    tenant, stays, clock = await _whatsapp_stay(uow_factory, make_rules, make_reservation)
    async with uow_factory(tenant.tenant_id) as uow:
        uow.session.add(
            WhatsAppTemplate(
                tenant_id=tenant.tenant_id,
                channel_id=tenant.channel_id,
                name="t_minus_1",
                language="en",
                category="utility",
                approval_status="approved",
                body="Hello {{1}}, see you on {{2}}.",
                components={"body_parameters": ["guest.first_name", "reservation.check_in"]},
            )
        )
        await uow.commit()
    await Scheduler(uow_factory=uow_factory, clock=clock).run_due()
    messages = await outbound(uow_factory, tenant)
    assert [(m.content_type, m.content) for m in messages] == [
        ("template", "Hello Anna, see you on 2026-07-10.")
    ] * 2
    row = (await schedule_rows(uow_factory, tenant, stays[0]))["T_MINUS_1"]
    assert row.whatsapp_params == {
        "name": "t_minus_1",
        "language": "en",
        "body_parameters": ["Anna", "2026-07-10"],
    }


async def test_whatsapp_inside_24_hours_sends_the_free_text(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    tenant, stays, clock = await _whatsapp_stay(uow_factory, make_rules, make_reservation)
    async with uow_factory(tenant.tenant_id) as uow:
        stay = await uow.schedule.stay(reservation_id=stays[0])
        assert stay is not None
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=stay.guest.id, channel_id=tenant.channel_id, at=clock.now
        )
        stored = await uow.inbound.add(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            content="Can I arrive late?",
            provider_message_id="wamid-1",
        )
        assert stored is not None
        await uow.session.execute(  # the guest wrote 23 hours before the send
            update(Message)
            .where(Message.id == stored.id)
            .values(created_at=clock.now - timedelta(hours=23))
        )
        await uow.commit()
    await Scheduler(uow_factory=uow_factory, clock=clock).run_due()
    statuses = [
        (await schedule_rows(uow_factory, tenant, stay))["T_MINUS_1"].status for stay in stays
    ]
    assert statuses == ["sent", "skipped"]
    (message,) = await outbound(uow_factory, tenant)
    assert message.content_type == "text"
    assert message.content == "Hi Anna, tomorrow at Main from 15:00."
