"""A condition trigger in the running system: a guest's webhook through the real ingress, intake
and sentiment on RabbitMQ, and the triggers consumer raising one staff notification for a
negative message from a guest whose stay is tagged VIP, even when the event comes again."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import EscalationRequested, MessageScored, Provider, decode
from persistence.db import create_engine
from persistence.models import Trigger
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from tests.pipeline.conftest import _delete_topology, free_port, serve
from tests.support.waiting import eventually
from tests.triggers.conftest import Clock, MakeTalk, MakeTrigger
from workers.consumers import intake, sentiment, triggers
from workers.ingress.server import build_app
from workers.runtime.publisher import Publisher
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for
from workers.settings import Settings
from workers.triggers.sweep import TriggerSweeper
from workers.webhook_samples import SampleChannel, build

BOT_TOKEN = "424242:test-bot-token"
VIP_NEGATIVE: dict[str, Any] = {
    "event": "message.scored",
    "all": [
        {"field": "message.sentiment_label", "op": "eq", "value": "negative"},
        {"field": "reservation.tags", "op": "contains", "value": "VIP"},
    ],
    "actions": [{"type": "notify_staff", "detail": "An unhappy VIP guest", "urgent": True}],
}


@dataclass
class Running:
    settings: Settings
    http: httpx.AsyncClient
    owner: AsyncEngine

    async def rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """SQL across tenants as the owner (the test's view, not the application's)."""
        async with self.owner.begin() as connection:
            return [dict(row) for row in (await connection.execute(text(query), params)).mappings()]


@pytest.fixture(scope="module")
async def running(database: Settings) -> AsyncIterator[Running]:
    port = free_port()
    settings = database.model_copy(
        update={
            "exchange": f"test.triggers.{uuid4().hex}",
            "public_base_url": f"http://127.0.0.1:{port}",
            "channel_cache_seconds": 0.5,
        }
    )
    server = await serve(build_app(settings), port)
    pipeline = [intake.consumer(), sentiment.consumer()]
    # One at a time, so a copy published after another is handled after it.
    trigger_consumers = [triggers.consumer()]
    consumers = [*pipeline, *trigger_consumers]
    await declare_for(
        settings.amqp_url, settings.exchange, [c.queues(settings.exchange) for c in consumers]
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_workers(settings, pipeline, stop=stop)),
        asyncio.create_task(run_workers(settings, trigger_consumers, concurrency=1, stop=stop)),
    ]
    owner = create_engine(settings.migration_database_url, schema=settings.db_schema)
    async with httpx.AsyncClient(base_url=settings.public_base_url, timeout=10.0) as http:
        yield Running(settings, http, owner)
    stop.set()
    await asyncio.gather(*tasks)
    ingress, task = server
    ingress.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await owner.dispose()
    await _delete_topology(settings, consumers)


async def test_an_unhappy_vip_raises_one_notification_through_the_broker(
    running: Running, make_tenant: MakeTenant, uow_factory: UnitOfWorkFactory
) -> None:
    tenant = await make_tenant(
        vertical="hotel",
        provider=Provider.TELEGRAM,
        address="@test_bot",
        credentials={"bot_token": BOT_TOKEN, "api_base_url": "http://127.0.0.1:9/unreachable"},
        webhook_secret=f"secret-{uuid4().hex}",
    )
    async with uow_factory(tenant.tenant_id) as uow:
        await uow.configuration.add(
            Trigger, name="Unhappy VIP", kind="condition_based", conditions=VIP_NEGATIVE
        )
        await uow.commit()
    channel = SampleChannel(
        tenant=0,
        provider="telegram",
        public_id=str(tenant.public_id),
        webhook_secret=tenant.webhook_secret or "",
        address="@test_bot",
        provider_account=BOT_TOKEN.split(":", 1)[0],
    )
    guest = uuid4().int % 10**8

    async def say(words: str) -> dict[str, Any]:
        webhook = build(
            channel,
            seq=uuid4().int % 10**12,
            text=words,
            base_url=running.settings.public_base_url,
            guest=guest,
        )
        answer = await running.http.post(
            webhook.path, content=webhook.body, headers=webhook.headers
        )
        assert answer.status_code == 200, answer.text

        async def scored() -> dict[str, Any] | None:
            found = await running.rows(
                "SELECT * FROM messages"
                " WHERE provider_message_id = :p AND sentiment_label IS NOT NULL",
                p=webhook.provider_message_id,
            )
            return found[0] if found else None

        return await eventually(scored, "the message scored")

    async def raised(conversation_id: Any) -> list[dict[str, Any]]:
        return await running.rows(
            "SELECT * FROM staff_notifications WHERE conversation_id = :c"
            " AND type = 'condition_trigger'",
            c=conversation_id,
        )

    async def processed(event_id: Any) -> bool:
        found = await running.rows(
            "SELECT 1 FROM processed_events WHERE consumer = 'triggers' AND event_id = :e",
            e=event_id,
        )
        return bool(found)

    # Unhappy before the stay is known: not a VIP, nothing raised.
    first = await say("This is terrible, the room is dirty and I am furious!")
    assert first["sentiment_label"] == "negative"
    first_event = await running.rows(
        "SELECT id FROM outbox WHERE event_type = 'message.scored' AND payload->>'message_id' = :m",
        m=str(first["id"]),
    )
    await eventually(lambda: processed(first_event[0]["id"]), "the first message's triggers")
    assert await raised(first["conversation_id"]) == []

    [conversation] = await running.rows(
        "SELECT guest_id FROM conversations WHERE id = :c", c=first["conversation_id"]
    )
    async with uow_factory(tenant.tenant_id) as uow:
        stay = await uow.reservations.add(
            property_id=tenant.property_id,
            guest_id=conversation["guest_id"],
            check_in=date.today() - timedelta(days=1),
            check_out=date.today() + timedelta(days=3),
            external_ref=f"PMS-{uuid4().hex[:8]}",
        )
        stay.tags = ["VIP"]
        await uow.conversations.link_reservation(
            conversation_id=first["conversation_id"], reservation_id=stay.id
        )
        await uow.commit()
    kind = await say("Thank you, the breakfast was lovely and wonderful.")
    unhappy = await say("This is awful. Still no towels, the staff are rude. I am very angry!")
    assert (kind["sentiment_label"], unhappy["sentiment_label"]) == ("positive", "negative")
    [notification] = await eventually(
        lambda: raised(first["conversation_id"]), "the VIP notification"
    )
    assert notification["urgent"] is True
    assert notification["detail"] == "An unhappy VIP guest (trigger 'Unhappy VIP')"

    # The message.scored event again: redelivered as it was, and published anew.
    [outboxed] = await running.rows(
        "SELECT payload FROM outbox WHERE event_type = 'message.scored'"
        " AND payload->>'message_id' = :m",
        m=str(unhappy["id"]),
    )
    event = decode(json.dumps(outboxed["payload"]).encode())
    assert isinstance(event, MessageScored)
    copy = event.model_copy(update={"event_id": uuid4(), "occurred_at": datetime.now(UTC)})
    publisher = Publisher.from_settings(running.settings)
    try:
        await publisher.publish(event)
        await publisher.publish(copy)
    finally:
        await publisher.close()
    await eventually(lambda: processed(copy.event_id), "the copy handled")
    assert len(await raised(first["conversation_id"])) == 1
    firings = await running.rows(
        "SELECT subject, status FROM trigger_firings WHERE tenant_id = :t", t=tenant.tenant_id
    )
    assert firings == [{"subject": f"message:{unhappy['id']}", "status": "fired"}]


async def test_no_staff_reply_within_15_minutes_of_an_escalation_through_the_broker(
    running: Running,
    make_tenant: MakeTenant,
    make_talk: MakeTalk,
    make_trigger: MakeTrigger,
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await make_tenant()
    await make_trigger(
        tenant,
        {
            "event": "escalation.raised",
            "delay_minutes": 15,
            "none": [{"field": "conversation.staff_replied", "op": "eq", "value": True}],
            "actions": [{"type": "notify_staff", "detail": "Nobody answered in 15 minutes"}],
        },
    )
    ignored, answered = await make_talk(tenant), await make_talk(tenant)
    raised_at = datetime.now(UTC) - timedelta(minutes=1)
    escalations = [
        EscalationRequested(
            tenant_id=tenant.tenant_id,
            conversation_id=talk.conversation_id,
            message_id=talk.message_id,
            reason="human_requested",
            occurred_at=raised_at,
        )
        for talk in (ignored, answered)
    ]
    publisher = Publisher.from_settings(running.settings)
    try:
        await publisher.publish_many([*escalations, *escalations])  # each one twice
    finally:
        await publisher.close()

    async def waiting() -> list[dict[str, Any]]:
        found = await running.rows(
            "SELECT * FROM trigger_firings WHERE tenant_id = :t AND status = 'waiting'",
            t=tenant.tenant_id,
        )
        return found if len(found) == 2 else []

    await eventually(waiting, "two waiting firings")
    async with uow_factory(tenant.tenant_id) as uow:
        await uow.outbound.draft(
            conversation_id=answered.conversation_id,
            channel_id=tenant.channel_id,
            content="Sorry for the wait, how can I help?",
            send_after=datetime.now(UTC),
            sender_type="staff",
        )
        await uow.commit()
    clock = Clock(raised_at + timedelta(minutes=15))
    sweeper = TriggerSweeper(uow_factory=uow_factory, clock=clock)
    assert await sweeper.run_tenant(tenant.tenant_id, now=clock.now) == 2
    assert await sweeper.run_tenant(tenant.tenant_id, now=clock.now) == 0
    raised = await running.rows(
        "SELECT conversation_id FROM staff_notifications"
        " WHERE tenant_id = :t AND type = 'condition_trigger'",
        t=tenant.tenant_id,
    )
    assert raised == [{"conversation_id": ignored.conversation_id}]
