"""Condition triggers on the real database: each fires once per subject whatever repeats, a
delayed one is decided by the scheduler's sweep with an injected clock, and the day after
check-out sends its template through the scheduled-message path."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import uuid4

from sqlalchemy import select

from domain.events import (
    ConversationUpdated,
    EscalationRequested,
    MessageScored,
    Provider,
    ReservationChanged,
    SentimentLabel,
)
from persistence.models import (
    Message,
    ScheduledMessage,
    StaffNotification,
    TriggerFiring,
    WhatsAppTemplate,
)
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant, TenantFixture
from tests.scheduling.conftest import MakeReservation, changed
from tests.triggers.conftest import Clock, MakeTalk, MakeTrigger, Talk
from workers.consumers import planner, triggers
from workers.scheduler.handover import Scheduler
from workers.triggers.sweep import TriggerSweeper

VIP_NEGATIVE: dict[str, Any] = {
    "event": "message.scored",
    "all": [
        {"field": "message.sentiment_label", "op": "eq", "value": "negative"},
        {"field": "reservation.tags", "op": "contains", "value": "vip"},
    ],
    "actions": [
        {"type": "notify_staff", "detail": "An unhappy VIP", "urgent": True},
        {"type": "add_tag", "tag": "vip-unhappy"},
    ],
}
NO_STAFF_REPLY: dict[str, Any] = {
    "event": "escalation.raised",
    "delay_minutes": 15,
    "none": [{"field": "conversation.staff_replied", "op": "eq", "value": True}],
    "actions": [{"type": "notify_staff", "detail": "No staff reply within 15 minutes"}],
}


def scored(talk: Talk, label: SentimentLabel = SentimentLabel.NEGATIVE) -> MessageScored:
    return MessageScored(
        tenant_id=talk.tenant.tenant_id,
        message_id=talk.message_id,
        conversation_id=talk.conversation_id,
        sentiment_score=-0.8 if label is SentimentLabel.NEGATIVE else 0.1,
        sentiment_label=label,
        requires_attention=label is SentimentLabel.NEGATIVE,
    )


async def handled(uow_factory: UnitOfWorkFactory, event: Any, now: datetime | None = None) -> None:
    async with uow_factory(event.tenant_id) as uow:
        await triggers.handle(event, uow, clock=lambda: now or datetime.now(UTC))
        await uow.commit()


async def rows(uow_factory: UnitOfWorkFactory, tenant: TenantFixture, model: Any) -> list[Any]:
    async with uow_factory(tenant.tenant_id) as uow:
        found = list((await uow.session.execute(select(model))).scalars())
        uow.session.expunge_all()
    return found


async def notifications(uow_factory: UnitOfWorkFactory, tenant: TenantFixture) -> list[Any]:
    found = await rows(uow_factory, tenant, StaffNotification)
    return [row for row in found if row.type == "condition_trigger"]


async def test_an_unhappy_vip_raises_one_notification_whatever_repeats(
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_talk: MakeTalk,
    make_trigger: MakeTrigger,
) -> None:
    tenant = await make_tenant()
    trigger_id = await make_trigger(tenant, VIP_NEGATIVE, name="unhappy VIP")
    vip = await make_talk(tenant, tags=["VIP"], text="This is terrible")
    other = await make_talk(tenant, tags=["late-arrival"], text="This is terrible")
    await handled(uow_factory, scored(vip, SentimentLabel.NEUTRAL))
    await handled(uow_factory, scored(other))
    assert await notifications(uow_factory, tenant) == []

    event = scored(vip)
    await handled(uow_factory, event)
    await handled(uow_factory, event)  # redelivered
    await handled(uow_factory, scored(vip))  # the same message scored again, another event
    [notification] = await notifications(uow_factory, tenant)
    assert notification.conversation_id == vip.conversation_id
    assert notification.urgent is True
    assert notification.detail == "An unhappy VIP (trigger 'unhappy VIP')"
    [firing] = await rows(uow_factory, tenant, TriggerFiring)
    assert (firing.trigger_id, firing.subject, firing.status) == (
        trigger_id,
        f"message:{vip.message_id}",
        "fired",
    )
    assert [o["action"] for o in firing.outcomes] == ["notify_staff", "add_tag"]
    assert firing.outcomes[0]["notification_id"] == str(notification.id)
    async with uow_factory(tenant.tenant_id) as uow:
        tags = await uow.staff_inbox.tags_of(conversation_ids=[vip.conversation_id])
    assert tags[vip.conversation_id] == ["vip-unhappy"]


async def test_no_staff_reply_within_15_minutes_fires_once_and_not_after_a_reply(
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_talk: MakeTalk,
    make_trigger: MakeTrigger,
) -> None:
    tenant = await make_tenant()
    await make_trigger(tenant, NO_STAFF_REPLY)
    ignored, answered = await make_talk(tenant), await make_talk(tenant)
    raised_at = datetime.now(UTC) - timedelta(minutes=1)
    for talk in (ignored, answered):
        escalation = EscalationRequested(
            tenant_id=tenant.tenant_id,
            conversation_id=talk.conversation_id,
            message_id=talk.message_id,
            reason="human_requested",
            occurred_at=raised_at,
        )
        await handled(uow_factory, escalation)
        await handled(uow_factory, escalation)
    async with uow_factory(tenant.tenant_id) as uow:
        await uow.outbound.draft(
            conversation_id=answered.conversation_id,
            channel_id=tenant.channel_id,
            content="On it!",
            send_after=datetime.now(UTC),
            sender_type="staff",
        )
        await uow.commit()
    clock = Clock(raised_at + timedelta(minutes=14, seconds=59))
    sweeper = TriggerSweeper(uow_factory=uow_factory, clock=clock)
    await sweeper.run_tenant(tenant.tenant_id, now=clock.now)
    assert await notifications(uow_factory, tenant) == []
    assert {f.status for f in await rows(uow_factory, tenant, TriggerFiring)} == {"waiting"}

    clock.now = raised_at + timedelta(minutes=15)
    assert await sweeper.run_due() >= 2  # found through the cross-tenant look
    assert await sweeper.run_tenant(tenant.tenant_id, now=clock.now) == 0
    [notification] = await notifications(uow_factory, tenant)
    assert notification.conversation_id == ignored.conversation_id
    assert notification.detail.startswith("No staff reply within 15 minutes")
    firings = {f.conversation_id: f.status for f in await rows(uow_factory, tenant, TriggerFiring)}
    assert firings == {ignored.conversation_id: "fired", answered.conversation_id: "not_met"}


async def test_the_day_after_check_out_sends_a_review_request_once_through_the_scheduler(
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_trigger: MakeTrigger,
    make_reservation: MakeReservation,
) -> None:
    tenant = await make_tenant(
        provider=Provider.TWILIO_SMS,
        address="+4930123456",
        timezone="Europe/Berlin",
        quiet_hours_start=time(22),
        quiet_hours_end=time(10, 30),
    )
    async with uow_factory(tenant.tenant_id) as uow:
        template = await uow.templates.add(
            channel="twilio_sms",
            rule_key="custom:review",
            body="Thank you for staying at {{ property.name }}, {{ guest.first_name }}!",
        )
        await uow.commit()
    trigger_id = await make_trigger(
        tenant,
        {
            "event": "check_out.day",
            "offset_days": 1,
            "at": "10:00",
            "none": [{"field": "reservation.status", "op": "in", "value": ["cancelled"]}],
            "actions": [{"type": "send_template", "template_id": str(template.id)}],
        },
    )
    check_in = date(2026, 5, 10)
    staying = await make_reservation(tenant, check_in=check_in, nights=2)
    stopped = await make_reservation(tenant, check_in=check_in, nights=2, guest_name="Ben Stop")
    cancelled = await make_reservation(tenant, check_in=check_in, nights=2, status="cancelled")
    async with uow_factory(tenant.tenant_id) as uow:
        stay = await uow.reservations.get(reservation_id=stopped)
        assert stay is not None
        await uow.schedule.opt_out(
            guest_id=stay.guest_id,
            kind="twilio_sms",
            keyword="STOP",
            message_id=None,
            at=datetime(2026, 5, 11, tzinfo=UTC),
        )
        await uow.commit()
    # 10:00 in Berlin on the 13th is 08:00 UTC; quiet hours hold it until 10:30 (08:30 UTC).
    clock = Clock(datetime(2026, 5, 13, 7, 59, tzinfo=UTC))
    sweeper = TriggerSweeper(uow_factory=uow_factory, clock=clock)
    scheduler = Scheduler(uow_factory=uow_factory, clock=clock)
    assert await sweeper.run_tenant(tenant.tenant_id, now=clock.now) == 0
    clock.now = datetime(2026, 5, 13, 8, 0, tzinfo=UTC)
    assert await sweeper.run_tenant(tenant.tenant_id, now=clock.now) == 3
    assert await sweeper.run_tenant(tenant.tenant_id, now=clock.now) == 0
    firings = {f.reservation_id: f.status for f in await rows(uow_factory, tenant, TriggerFiring)}
    assert firings == {staying: "fired", stopped: "fired", cancelled: "not_met"}
    scheduled = {r.reservation_id: r for r in await rows(uow_factory, tenant, ScheduledMessage)}
    assert set(scheduled) == {staying, stopped}
    assert all(r.trigger_id == trigger_id for r in scheduled.values())
    for row in scheduled.values():
        assert (
            await scheduler.hand_over(tenant_id=tenant.tenant_id, scheduled_id=row.id)
        ).status == "held"
    # A change to the stay re-plans its time-based messages and leaves this one alone.
    async with uow_factory(tenant.tenant_id) as uow:
        await planner.handle(changed(tenant, staying), uow, clock=lambda: clock.now)
        await uow.commit()

    clock.now = datetime(2026, 5, 13, 8, 31, tzinfo=UTC)
    for _ in range(2):  # a second pass finds nothing left to send
        for row in scheduled.values():
            await scheduler.hand_over(tenant_id=tenant.tenant_id, scheduled_id=row.id)
    after = {r.reservation_id: r for r in await rows(uow_factory, tenant, ScheduledMessage)}
    assert after[stopped].status == "skipped"
    assert "opted out" in (after[stopped].reason or "")
    assert after[staying].status == "sent"
    sent = [m for m in await rows(uow_factory, tenant, Message) if m.direction == "outbound"]
    assert [m.content for m in sent] == ["Thank you for staying at Main, Anna!"]
    assert sent[0].id == after[staying].message_id


async def test_a_reservation_trigger_tags_the_stay_once_and_keeps_to_its_property(
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_trigger: MakeTrigger,
    make_reservation: MakeReservation,
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        elsewhere = await uow.properties.add(name="Annex", timezone="Europe/Madrid")
        await uow.commit()
    long_stay: dict[str, Any] = {
        "event": "reservation.created",
        "all": [{"field": "reservation.nights", "op": "gte", "value": 7}],
        "actions": [{"type": "add_tag", "tag": "long-stay", "to": "reservation"}],
    }
    await make_trigger(tenant, long_stay, name="long stays here")
    await make_trigger(tenant, long_stay, name="long stays at the annex", property_id=elsewhere.id)
    long_one = await make_reservation(tenant, check_in=date(2030, 7, 1), nights=9)
    short_one = await make_reservation(tenant, check_in=date(2030, 7, 1), nights=2)
    for reservation_id in (long_one, short_one, long_one):
        event = ReservationChanged(
            tenant_id=tenant.tenant_id,
            reservation_id=reservation_id,
            status="confirmed",
            created=True,
            event_id=uuid4(),
        )
        await handled(uow_factory, event)
    async with uow_factory(tenant.tenant_id) as uow:
        long_row = await uow.reservations.get(reservation_id=long_one)
        short_row = await uow.reservations.get(reservation_id=short_one)
        assert long_row is not None
        assert short_row is not None
        assert (long_row.tags, short_row.tags) == (["long-stay"], [])
    firings: list[TriggerFiring] = await rows(uow_factory, tenant, TriggerFiring)
    assert [(f.reservation_id, f.status) for f in firings] == [(long_one, "fired")]
    assert firings[0].outcomes[0]["detail"] == "reservation tagged 'long-stay'"


async def test_the_review_request_on_whatsapp_outside_24_hours_goes_as_the_named_template(
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_trigger: MakeTrigger,
    make_reservation: MakeReservation,
) -> None:
    tenant = await make_tenant(timezone="Europe/Madrid")  # Green API (WhatsApp)
    async with uow_factory(tenant.tenant_id) as uow:
        template = await uow.templates.add(
            channel="green_api", rule_key="custom:review", body="How was {{ property.name }}?"
        )
        uow.session.add(
            WhatsAppTemplate(
                tenant_id=tenant.tenant_id,
                channel_id=tenant.channel_id,
                name="review_request",
                language="en",
                category="utility",
                approval_status="approved",
                body="Hi {{1}}, how was your stay?",
                components={"body_parameters": ["guest.first_name"]},
            )
        )
        await uow.commit()
    await make_trigger(
        tenant,
        {
            "event": "check_out.day",
            "offset_days": 1,
            "at": "11:00",
            "whatsapp_template": "review_request",
            "actions": [{"type": "send_template", "template_id": str(template.id)}],
        },
    )
    stay = await make_reservation(tenant, check_in=date(2026, 6, 1), nights=3)
    now = datetime(2026, 6, 5, 9, 0, tzinfo=UTC)  # 11:00 in Madrid, the day after check-out
    sweeper = TriggerSweeper(uow_factory=uow_factory, clock=Clock(now))
    assert await sweeper.run_tenant(tenant.tenant_id, now=now) == 1
    [row] = await rows(uow_factory, tenant, ScheduledMessage)
    scheduler = Scheduler(uow_factory=uow_factory, clock=Clock(now))
    outcome = await scheduler.hand_over(tenant_id=tenant.tenant_id, scheduled_id=row.id)
    assert outcome.status == "sent", outcome
    [message] = [m for m in await rows(uow_factory, tenant, Message) if m.direction == "outbound"]
    assert (message.content_type, message.content) == ("template", "Hi Anna, how was your stay?")
    [after] = await rows(uow_factory, tenant, ScheduledMessage)
    assert (after.reservation_id, after.whatsapp_params["name"]) == (stay, "review_request")


async def test_a_resolved_conversation_is_decided_once_per_conversation(
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_talk: MakeTalk,
    make_trigger: MakeTrigger,
) -> None:
    tenant = await make_tenant()
    await make_trigger(
        tenant,
        {
            "event": "conversation.resolved",
            "all": [{"field": "reservation.tags", "op": "contains", "value": "vip"}],
            "actions": [{"type": "add_tag", "tag": "vip-resolved"}],
        },
    )
    vip, other = await make_talk(tenant, tags=["VIP"]), await make_talk(tenant)
    for talk, to_value in ((vip, "pending"), (vip, "resolved"), (other, "resolved")):
        update = ConversationUpdated(
            tenant_id=tenant.tenant_id,
            conversation_id=talk.conversation_id,
            change="status",
            to_value=to_value,
        )
        await handled(uow_factory, update)
    await handled(
        uow_factory,
        ConversationUpdated(
            tenant_id=tenant.tenant_id,
            conversation_id=vip.conversation_id,
            change="status",
            to_value="resolved",
        ),
    )
    async with uow_factory(tenant.tenant_id) as uow:
        tags = await uow.staff_inbox.tags_of(
            conversation_ids=[vip.conversation_id, other.conversation_id]
        )
    assert tags == {vip.conversation_id: ["vip-resolved"]}
    firings = await rows(uow_factory, tenant, TriggerFiring)
    assert [(f.subject, f.status) for f in firings] == [
        (f"conversation:{vip.conversation_id}", "fired")
    ]
