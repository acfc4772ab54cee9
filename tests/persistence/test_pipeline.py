"""The unit of work's pipeline bookkeeping: inbox, outbox and the system sweeps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from domain.events import MessageAccepted, ReplyQueued
from persistence.repositories.pipeline import TenantMismatchError
from persistence.uow import UnitOfWorkFactory


def accepted(tenant_id: UUID) -> MessageAccepted:
    return MessageAccepted(
        tenant_id=tenant_id,
        message_id=uuid4(),
        conversation_id=uuid4(),
        guest_id=uuid4(),
        channel_id=uuid4(),
    )


async def test_the_inbox_records_an_event_once_per_consumer(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, event_id = await make_tenant(), uuid4()
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.inbox.record(consumer="intake", event_id=event_id) is True
        assert await uow.inbox.record(consumer="sentiment", event_id=event_id) is True
        await uow.commit()
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.inbox.record(consumer="intake", event_id=event_id) is False


async def test_an_inbox_record_is_undone_with_its_transaction(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, event_id = await make_tenant(), uuid4()
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.inbox.record(consumer="intake", event_id=event_id)
        # no commit: the effects and the inbox row roll back together
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.inbox.record(consumer="intake", event_id=event_id) is True


async def test_emitted_events_are_published_only_if_committed(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    kept, dropped = accepted(tenant.tenant_id), accepted(tenant.tenant_id)
    async with uow_factory(tenant.tenant_id) as uow:
        uow.emit(dropped)
        assert uow.emitted == [dropped]
        await uow.rollback()
        assert uow.emitted == []
    async with uow_factory(tenant.tenant_id) as uow:
        uow.emit(kept)
        await uow.commit()
    assert uow.emitted == [kept]

    async with uow_factory.system() as system:
        claimed = {record.id: record for record in await system.claim_outbox(1000)}
    assert kept.event_id in claimed
    assert dropped.event_id not in claimed
    record = claimed[kept.event_id]
    assert (record.tenant_id, record.event_type) == (tenant.tenant_id, "message.accepted")
    assert MessageAccepted.model_validate(record.payload) == kept
    await uow_factory.mark_published(tenant_id=tenant.tenant_id, event_ids=[kept.event_id])


async def test_an_event_of_another_tenant_is_refused(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        with pytest.raises(TenantMismatchError):
            uow.emit(accepted(uuid4()))
        assert uow.emitted == []


async def test_two_relays_claim_disjoint_rows(uow_factory: UnitOfWorkFactory, make_tenant) -> None:
    tenant = await make_tenant()
    events = [accepted(tenant.tenant_id) for _ in range(4)]
    async with uow_factory(tenant.tenant_id) as uow:
        for event in events:
            await uow.outbox.add(event=event)
        await uow.commit()
    ours = {event.event_id for event in events}

    async with uow_factory.system() as first, uow_factory.system() as second:
        first_claim = {r.id for r in await first.claim_outbox(2)}
        # The second relay does not wait for the first one's locks: it skips those rows.
        second_claim = {r.id for r in await asyncio.wait_for(second.claim_outbox(1000), 5)}
        assert len(first_claim) == 2
        assert first_claim.isdisjoint(second_claim)
        assert ours <= first_claim | second_claim
        assert await first.mark_outbox_published(sorted(first_claim & ours)) == len(
            first_claim & ours
        )
        await first.commit()

    async with uow_factory.system() as relay:
        left = {r.id for r in await relay.claim_outbox(1000)} & ours
        assert left == ours - first_claim
        assert await relay.mark_outbox_published(sorted(left)) == len(left)
        assert await relay.mark_outbox_published(sorted(left)) == 0  # already published
        await relay.commit()


async def test_due_outbound_and_notifications_are_swept_across_tenants(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, now = await make_tenant(), datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600999001")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        due = await uow.outbound.draft(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            content="Now",
            send_after=now - timedelta(seconds=1),
        )
        later = await uow.outbound.draft(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            content="Later",
            send_after=now + timedelta(hours=1),
        )
        alert, _ = await uow.notifications.add(
            conversation_id=conversation.id, type="escalation", next_alert_at=now
        )
        await uow.commit()

    async with uow_factory.system() as system:
        outbound = {(d.tenant_id, d.message_id) for d in await system.due_outbound(1000)}
        alerts = {(d.tenant_id, d.notification_id) for d in await system.due_notifications(1000)}
        assert tenant.tenant_id in await system.tenant_ids()
    assert (tenant.tenant_id, due.id) in outbound
    assert (tenant.tenant_id, later.id) not in outbound
    assert (tenant.tenant_id, alert.id) in alerts

    async with uow_factory(tenant.tenant_id) as uow:
        claimed = await uow.outbound.claim_due(message_ids=[due.id, later.id])
        assert [c.id for c in claimed] == [due.id]
        await uow.notifications.acknowledge(notification_id=alert.id, at=now)
        await uow.outbound.update_status(message_id=due.id, status="sent", at=now)
        await uow.commit()
    async with uow_factory.system() as system:
        outbound = {d.message_id for d in await system.due_outbound(1000)}
        alerts = {d.notification_id for d in await system.due_notifications(1000)}
    assert due.id not in outbound
    assert alert.id not in alerts


async def test_reply_events_round_trip_through_the_outbox(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    event = ReplyQueued(
        tenant_id=tenant.tenant_id,
        message_id=uuid4(),
        conversation_id=uuid4(),
        in_reply_to=uuid4(),
        send_after=datetime.now(UTC),
    )
    async with uow_factory(tenant.tenant_id) as uow:
        await uow.outbox.add(event=event)
        await uow.commit()
    async with uow_factory.system() as system:
        [record] = [r for r in await system.claim_outbox(1000) if r.id == event.event_id]
        assert record.event_type == "reply.queued"
        assert ReplyQueued.model_validate(record.payload) == event
        await system.mark_outbox_published([event.event_id])
        await system.commit()
