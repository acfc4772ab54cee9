"""STOP switches a channel's proactive messages off for the guest, START switches them on."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

from sqlalchemy import select

from domain.events import MessageScored, Provider, SentimentLabel
from persistence.models import Message
from persistence.uow import UnitOfWorkFactory
from tests.conftest import TenantFixture
from tests.scheduling.conftest import Clock, MakeReservation, MakeRules, changed
from tests.scheduling.test_scheduler import outbound, schedule_rows
from workers.consumers import autoreply, planner
from workers.consumers.tenant_context import TenantContexts
from workers.scheduler.handover import Scheduler

SMS = {"provider": Provider.TWILIO_SMS, "address": "+4930123456"}


async def guest_says(
    uow_factory: UnitOfWorkFactory, tenant: TenantFixture, reservation_id: UUID, text: str
) -> None:
    async with uow_factory(tenant.tenant_id) as uow:
        stay = await uow.schedule.stay(reservation_id=reservation_id)
        assert stay is not None
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=stay.guest.id, channel_id=tenant.channel_id, at=datetime.now(UTC)
        )
        stored = await uow.inbound.add(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            content=text,
            provider_message_id=f"SM-{text}-{reservation_id}",
        )
        assert stored is not None
        await uow.commit()
    event = MessageScored(
        tenant_id=tenant.tenant_id,
        message_id=stored.id,
        conversation_id=conversation.id,
        sentiment_score=0.0,
        sentiment_label=SentimentLabel.NEUTRAL,
        requires_attention=False,
    )
    async with uow_factory(tenant.tenant_id) as uow:
        await autoreply.handle(event, uow, contexts=TenantContexts())
        await uow.commit()


async def test_stop_skips_proactive_messages_and_start_brings_them_back(
    uow_factory: UnitOfWorkFactory, make_rules: MakeRules, make_reservation: MakeReservation
) -> None:
    rules = await make_rules(rules=("T_MINUS_3", "T_MINUS_1"), timezone="Europe/Paris", **SMS)
    stay = await make_reservation(rules.tenant, check_in=date(2026, 9, 10))
    async with uow_factory(rules.tenant.tenant_id) as uow:
        await planner.handle(
            changed(rules.tenant, stay), uow, clock=lambda: datetime(2026, 9, 1, tzinfo=UTC)
        )
        await uow.commit()
    await guest_says(uow_factory, rules.tenant, stay, "Arrêt")
    clock = Clock(datetime(2026, 9, 7, 12, tzinfo=UTC))  # T-3 due, T-1 not yet
    await Scheduler(uow_factory=uow_factory, clock=clock).run_due()
    rows = await schedule_rows(uow_factory, rules.tenant, stay)
    assert (rows["T_MINUS_3"].status, rows["T_MINUS_3"].reason) == (
        "skipped",
        "guest opted out on twilio_sms (STOP)",
    )
    assert await outbound(uow_factory, rules.tenant) == []

    await guest_says(uow_factory, rules.tenant, stay, "START")
    clock.now = datetime(2026, 9, 9, 12, tzinfo=UTC)
    await Scheduler(uow_factory=uow_factory, clock=clock).run_due()
    rows = await schedule_rows(uow_factory, rules.tenant, stay)
    assert rows["T_MINUS_1"].status == "sent"
    assert len(await outbound(uow_factory, rules.tenant)) == 1
    async with uow_factory(rules.tenant.tenant_id) as uow:
        decided = (
            await uow.session.execute(
                select(Message.ai_decision, Message.ai_decision_reason)
                .where(Message.direction == "inbound")
                .order_by(Message.created_at)
            )
        ).all()
    assert [tuple(row) for row in decided] == [
        ("skip", "opt-out: no more proactive messages on twilio_sms"),
        ("skip", "opt-in: proactive messages on twilio_sms again"),
    ]
