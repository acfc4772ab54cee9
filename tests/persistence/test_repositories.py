"""What the pipeline relies on from the repositories, including the races it must survive."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.exc import IntegrityError

from domain.events import DeliveryStatus
from persistence.models import Message
from persistence.repositories.base import NotFoundError
from persistence.uow import UnitOfWorkFactory


async def _concurrently(count: int, work):  # type: ignore[no-untyped-def]
    """Run ``work(index)`` ``count`` times at once, released together by a barrier."""
    started = asyncio.Barrier(count)

    async def one(index: int):  # type: ignore[no-untyped-def]
        await started.wait()
        return await work(index)

    return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(count))), 20)


async def test_first_messages_at_once_make_one_guest_and_one_conversation(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, handle, now = await make_tenant(), f"+3460{uuid4().int % 10**7:07d}", datetime.now(UTC)

    async def intake(index: int):  # type: ignore[no-untyped-def]
        async with uow_factory(tenant.tenant_id) as uow:
            guest = await uow.guests.upsert_by_identity(
                kind="green_api", handle=handle, display_name=f"Guest {index}"
            )
            conversation, opened = await uow.conversations.find_or_open(
                guest_id=guest.id, channel_id=tenant.channel_id, at=now
            )
            await uow.commit()
            return guest.id, conversation.id, opened

    results = await _concurrently(4, intake)
    assert len({guest for guest, _, _ in results}) == 1
    assert len({conversation for _, conversation, _ in results}) == 1
    assert sum(opened for _, _, opened in results) == 1


async def test_a_closed_conversation_makes_room_for_a_new_one(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, now = await make_tenant(), datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600123456")
        first, opened = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        assert opened
        again, opened_again = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        assert (again.id, opened_again) == (first.id, False)
        await uow.conversations.set_status(conversation_id=first.id, status="resolved")
        second, opened = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        assert opened
        assert second.id != first.id
        events = await uow.conversations.list_events(conversation_id=first.id)
        assert [(e.kind, e.from_value, e.to_value) for e in events] == [
            ("status", "new", "resolved")
        ]
        with pytest.raises(ValueError, match="unknown conversation status"):
            await uow.conversations.set_status(conversation_id=second.id, status="archived")
        with pytest.raises(NotFoundError):
            await uow.conversations.set_status(conversation_id=uuid4(), status="open")


async def test_delivery_status_only_moves_forward(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, now = await make_tenant(), datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600765432")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        message = await uow.outbound.draft(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            content="Hi",
            send_after=now,
        )
        update = uow.outbound.update_status
        assert await update(message_id=message.id, status=DeliveryStatus.SENT, at=now,
                            provider_message_id="wamid.1")  # fmt: skip
        assert await update(message_id=message.id, status=DeliveryStatus.READ, at=now)
        # Callbacks arrive out of order: a late "delivered" or "sent" must not undo "read".
        assert not await update(message_id=message.id, status=DeliveryStatus.DELIVERED, at=now)
        assert not await update(message_id=message.id, status=DeliveryStatus.SENT, at=now)
        assert not await update(message_id=message.id, status=DeliveryStatus.FAILED, at=now)
        with pytest.raises(ValueError, match="bogus"):
            await update(message_id=message.id, status="bogus", at=now)
        found = await uow.messages.find_by_provider_id(
            channel_id=tenant.channel_id, provider_message_id="wamid.1"
        )
        assert found is not None
        found = await uow.session.get(Message, found.id)  # the whole row, as stored
        assert found is not None
        assert (found.status, found.attempts) == ("read", 1)
        assert found.sent_at is not None
        assert found.read_at is not None


async def test_an_inbound_provider_message_is_stored_once(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, now = await make_tenant(), datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600555444")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        first = await uow.inbound.add(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            provider_message_id="BAE5-1",
            content="Hola",
        )
        duplicate = await uow.inbound.add(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            provider_message_id="BAE5-1",
            content="Hola",
        )
        assert first is not None
        assert duplicate is None
        await uow.inbound.set_sentiment(
            message_id=first.id, score=-0.8123, label="negative", requires_attention=True
        )
        await uow.conversations.record_inbound(conversation_id=conversation.id, at=now)
        [stored] = await uow.messages.list_recent(conversation_id=conversation.id)
        assert (float(stored.sentiment_score or 0), stored.sentiment_label) == (-0.812, "negative")


async def test_webhook_events_are_recorded_once(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        record = uow.webhook_events.record
        kwargs = {"provider": "green_api", "channel_id": tenant.channel_id, "payload": {"a": 1}}
        assert await record(provider_event_id="evt-1", **kwargs)
        assert not await record(provider_event_id="evt-1", **kwargs)
        assert await record(provider_event_id="evt-2", **kwargs)


async def test_a_notification_is_raised_once_and_acknowledged_once(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, now = await make_tenant(), datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600000777")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        message = await uow.inbound.add(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            provider_message_id="n-1",
            content="This is terrible",
        )
        assert message is not None
        raise_it = uow.notifications.add
        about = {"conversation_id": conversation.id, "message_id": message.id}
        first, created = await raise_it(
            **about, type="negative_sentiment", next_alert_at=now, urgent=True
        )
        again, created_again = await raise_it(**about, type="negative_sentiment", next_alert_at=now)
        assert (created, created_again, again.id) == (True, False, first.id)
        assert await uow.notifications.record_alert(
            notification_id=first.id, attempt=1, at=now, next_alert_at=now + timedelta(minutes=5)
        )
        assert await uow.notifications.acknowledge(notification_id=first.id, at=now)
        assert not await uow.notifications.acknowledge(notification_id=first.id, at=now)
        assert not await uow.notifications.record_alert(
            notification_id=first.id, attempt=2, at=now, next_alert_at=now
        )
        assert await uow.notifications.list_open() == []
        with pytest.raises(IntegrityError):
            await raise_it(conversation_id=conversation.id, type="not_a_type", next_alert_at=now)


async def test_publishing_a_prompt_unpublishes_the_previous_one(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.prompts.published() is None
        first = await uow.prompts.add(body="v1")
        second = await uow.prompts.add(body="v2")
        assert (first.version, second.version) == (1, 2)
        await uow.prompts.publish(version=1)
        await uow.prompts.publish(version=2)
        published = await uow.prompts.published()
        assert published is not None
        assert published.version == 2
        with pytest.raises(NotFoundError):
            await uow.prompts.publish(version=9)


async def test_knowledge_items_upsert_by_key_and_soft_delete(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        category = await uow.knowledge.upsert_category(slug="stay", name="Stay")
        item = await uow.knowledge.upsert_item(
            category_id=category, key="wifi", question="Wifi?", answer="Yes"
        )
        same = await uow.knowledge.upsert_item(
            category_id=category, key="wifi", question="Is there wifi?", answer="Yes, free"
        )
        assert same == item
        [entry] = await uow.knowledge.list_entries()
        assert (entry.category, entry.question, entry.answer) == (
            "stay",
            "Is there wifi?",
            "Yes, free",
        )
        assert await uow.knowledge.delete_item(key="wifi")
        assert not await uow.knowledge.delete_item(key="wifi")
        assert await uow.knowledge.list_entries() == []


async def test_staff_have_roles_and_unique_live_emails(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        user = await uow.staff.add(
            email=" Ana@Example.com ", full_name="Ana", password_hash="x", roles=("admin", "agent")
        )
        assert user.email == "ana@example.com"
        assert await uow.staff.role_names(user_id=user.id) == ["admin", "agent"]
        found = await uow.staff.find_by_email(email="ANA@example.com")
        assert found is not None
        assert found.id == user.id
        with pytest.raises(NotFoundError):
            await uow.staff.add(email="b@example.com", full_name="B", password_hash="x",
                                roles=("owner",))  # fmt: skip


async def test_the_consumers_one_round_trip_reads_see_only_their_tenant(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant(timezone="Europe/Berlin", negative_sentiment_threshold=-0.3)
    other, now = await make_tenant(), datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(
            kind="green_api", handle="+34600555111", display_name="Ana"
        )
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        message = await uow.inbound.add(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            provider_message_id="BAE5-9",
            content="Is breakfast included?",
        )
        assert message is not None
        await uow.commit()

    async with uow_factory(tenant.tenant_id) as uow:
        scoring = await uow.inbound.scoring_input(message_id=message.id)
        reply = await uow.inbound.reply_input(
            message_id=message.id, conversation_id=conversation.id
        )
        missing = await uow.inbound.reply_input(
            message_id=uuid4(), conversation_id=conversation.id
        )
    assert scoring is not None
    assert (scoring.content, float(scoring.negative_threshold or 0)) == (
        "Is breakfast included?",
        -0.3,
    )
    assert reply is not None
    assert (reply.guest_name, reply.timezone, reply.human_takeover) == (
        "Ana",
        "Europe/Berlin",
        False,
    )
    assert (reply.channel_id, reply.guest_id) == (tenant.channel_id, guest.id)
    assert missing is None

    async with uow_factory(other.tenant_id) as uow:
        assert await uow.inbound.scoring_input(message_id=message.id) is None
        assert (
            await uow.inbound.reply_input(message_id=message.id, conversation_id=conversation.id)
            is None
        )


async def test_a_deleted_guest_who_writes_again_returns_with_a_name(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        first = await uow.guests.upsert_by_identity(kind="telegram", handle="777001")
        guest = await uow.guests.get(guest_id=first.id)
        assert guest is not None
        assert guest.full_name is None
        guest.deleted_at = datetime.now(UTC)  # staff deleted the guest
        await uow.commit()
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.guests.find_by_handle(kind="telegram", handle="777001") is None
        again = await uow.guests.upsert_by_identity(
            kind="telegram", handle="777001", display_name="Marta"
        )
        await uow.commit()
    assert (again.id, again.full_name) == (first.id, "Marta")
    async with uow_factory(tenant.tenant_id) as uow:
        revived = await uow.guests.find_by_handle(kind="telegram", handle="777001")
        assert revived is not None
        assert (revived.id, revived.full_name, revived.deleted_at) == (first.id, "Marta", None)


async def test_the_current_stay_is_found_from_the_channel_the_guest_wrote_to(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, today = await make_tenant(), datetime.now(UTC).date()
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600777002")
        stay = await uow.reservations.add(
            property_id=tenant.property_id,
            guest_id=guest.id,
            check_in=today - timedelta(days=1),
            check_out=today + timedelta(days=2),
            status="confirmed",
        )
        await uow.reservations.add(
            property_id=tenant.property_id,
            guest_id=guest.id,
            check_in=today + timedelta(days=30),
            check_out=today + timedelta(days=32),
            status="confirmed",
        )
        found = await uow.reservations.current_via_channel(
            guest_id=guest.id, channel_id=tenant.channel_id, on=today
        )
        later = await uow.reservations.current_via_channel(
            guest_id=guest.id, channel_id=tenant.channel_id, on=today + timedelta(days=10)
        )
    assert found == stay.id
    assert later is None


async def test_priority_is_raised_and_never_lowered(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant, now = await make_tenant(), datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600777004")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        seen = []
        for priority in ("high", "urgent", "high", "low"):
            await uow.conversations.raise_priority(
                conversation_id=conversation.id, priority=priority
            )
            row = await uow.conversations.get(conversation_id=conversation.id)
            assert row is not None
            await uow.session.refresh(row)
            seen.append(row.priority)
        with pytest.raises(ValueError, match="unknown priority"):
            await uow.conversations.raise_priority(
                conversation_id=conversation.id, priority="critical"
            )
    assert seen == ["high", "urgent", "urgent", "urgent"]
