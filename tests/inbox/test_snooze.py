"""A snoozed conversation wakes when its time comes: the scheduler's sweep moves it back to
``open`` once, records the change as the system's in ``conversation_events``, and leaves a
conversation still snoozed into the future (or reopened meanwhile) alone. Injected clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from persistence.models import Conversation, ConversationEvent
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel
from tests.inbox.conftest import MakeConversation
from workers.scheduler.snooze import SnoozeWaker

API = "/api/v1/conversations"


async def snooze(
    api: httpx.AsyncClient, hotel: Hotel, conversation_id: object, until: datetime
) -> None:
    response = await api.put(
        f"{API}/{conversation_id}/status",
        headers=hotel.admin.headers,
        json={"status": "snoozed", "snoozed_until": until.isoformat()},
    )
    assert response.status_code == 200, response.text


async def status_of(uow_factory: UnitOfWorkFactory, hotel: Hotel, conversation_id: object) -> str:
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        row = await uow.session.scalar(
            select(Conversation).where(Conversation.id == conversation_id)
        )
        assert row is not None
        return row.status


async def test_a_snoozed_conversation_opens_when_its_time_comes_and_only_then(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime.now(UTC)
    soon, later = await make_conversation(hotel.tenant), await make_conversation(hotel.tenant)
    await snooze(api, hotel, soon.conversation_id, now + timedelta(hours=1))
    await snooze(api, hotel, later.conversation_id, now + timedelta(hours=5))

    assert await SnoozeWaker(uow_factory=uow_factory, clock=lambda: now).run_due() == 0
    at = now + timedelta(hours=2)
    # Two schedulers sweeping at once wake it once.
    waker = SnoozeWaker(uow_factory=uow_factory, clock=lambda: at)
    woken = await asyncio.gather(waker.run_due(), waker.run_due())
    assert sum(woken) == 1
    assert await waker.run_due() == 0

    assert await status_of(uow_factory, hotel, soon.conversation_id) == "open"
    assert await status_of(uow_factory, hotel, later.conversation_id) == "snoozed"
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        events = (
            await uow.session.scalars(
                select(ConversationEvent)
                .where(ConversationEvent.conversation_id == soon.conversation_id)
                .order_by(ConversationEvent.created_at)
            )
        ).all()
        changes = [(e.kind, e.from_value, e.to_value, e.actor_type) for e in events]
    assert changes[-1] == ("status", "snoozed", "open", "system")


async def test_a_conversation_reopened_before_its_time_is_left_as_it_is(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    uow_factory: UnitOfWorkFactory,
) -> None:
    now = datetime.now(UTC)
    made = await make_conversation(hotel.tenant)
    await snooze(api, hotel, made.conversation_id, now + timedelta(hours=1))
    resolved = await api.put(
        f"{API}/{made.conversation_id}/status",
        headers=hotel.admin.headers,
        json={"status": "resolved"},
    )
    assert resolved.status_code == 200, resolved.text
    waker = SnoozeWaker(uow_factory=uow_factory, clock=lambda: now + timedelta(hours=2))
    assert await waker.run_due() == 0
    assert await status_of(uow_factory, hotel, made.conversation_id) == "resolved"
