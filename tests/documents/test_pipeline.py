"""Knowledge documents end to end: uploaded through the API, processed by the documents
consumer on RabbitMQ (the API's event through the outbox relay), answering guests through the
real ingress, intake, sentiment and autoreply; the staff preview saying beforehand exactly what
the pipeline then does; a delete heard by the autoreply cache as it commits (its TTL is ten
minutes here, so only the change notice can make it forget)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import aio_pika
import httpx
import pytest

from persistence.crypto import SecretCipher
from persistence.db import create_engine
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import MakeStaff, Staff
from tests.conftest import MakeTenant
from tests.documents.conftest import GUIDE
from tests.pipeline.conftest import GuestChannel, System, _delete_topology, free_port, serve
from tests.support.waiting import eventually
from workers.consumers import autoreply, documents, escalation, intake, sentiment
from workers.consumers.tenant_context import TenantContexts
from workers.dispatch.main import run_dispatcher
from workers.ingress.server import build_app
from workers.runtime.publisher import Publisher
from workers.runtime.relay import relay_forever
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for
from workers.settings import Settings
from workers.standin import create_app as create_stand_in
from workers.webhook_samples import GUEST_FIRST_NAME

DOCUMENTS = "/api/v1/knowledge/documents"
PREVIEW = "/api/v1/assistant/preview"
ONLY_THE_GUIDE_KNOWS = "Do you offer cooking classes?"
THE_FAQ_KNOWS = "What are your opening hours?"
CATCH_ALL = "test.documents.everything"


@pytest.fixture(scope="module")
async def system(database: Settings, uow_factory: UnitOfWorkFactory) -> AsyncIterator[System]:
    stand_in_port, ingress_port = free_port(), free_port()
    settings = database.model_copy(
        update={
            "exchange": f"test.documents.{uuid4().hex}",
            "public_base_url": f"http://127.0.0.1:{ingress_port}",
            "channel_cache_seconds": 0.5,
        }
    )
    stand_in = create_stand_in()
    servers = [await serve(stand_in, stand_in_port), await serve(build_app(settings), ingress_port)]
    stop = asyncio.Event()
    contexts = TenantContexts(database_url=settings.database_url, ttl=600.0)
    consumers = [
        intake.consumer(),
        sentiment.consumer(),
        autoreply.consumer(contexts=contexts),
        escalation.consumer(),
        documents.consumer(),
    ]
    await declare_for(
        settings.amqp_url, settings.exchange, [c.queues(settings.exchange) for c in consumers]
    )
    connection = await aio_pika.connect(settings.amqp_url)
    channel = await connection.channel()
    # The relay sweeps every tenant's outbox: events no consumer here takes still route.
    exchange = await channel.get_exchange(settings.exchange)
    everything = await channel.declare_queue(f"{CATCH_ALL}.{uuid4().hex}", auto_delete=True)
    await everything.bind(exchange, "#")
    publisher = Publisher.from_settings(settings)
    tasks = [
        asyncio.create_task(run_workers(settings, consumers, stop=stop)),
        asyncio.create_task(run_dispatcher(settings, stop)),
        asyncio.create_task(relay_forever(uow_factory, publisher, idle_poll=0.1, stop=stop)),
    ]
    owner = create_engine(settings.migration_database_url, schema=settings.db_schema)
    async with httpx.AsyncClient(base_url=settings.public_base_url, timeout=10.0) as http:
        yield System(
            settings=settings,
            http=http,
            owner=owner,
            uow_factory=uow_factory,
            stand_in_sent=stand_in.state.sent,
            stand_in_url=f"http://127.0.0.1:{stand_in_port}",
            cipher=SecretCipher.from_settings(settings),
        )
    stop.set()
    await asyncio.gather(*tasks)
    await contexts.close()
    await publisher.close()
    await connection.close()
    for server, task in servers:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await owner.dispose()
    await _delete_topology(settings, consumers)


async def upload_guide(api: httpx.AsyncClient, admin: Staff) -> dict[str, Any]:
    response = await api.post(
        DOCUMENTS, headers=admin.headers, json={"title": "Guest guide", "content": GUIDE}
    )
    assert response.status_code == 202, response.text
    url = f"{DOCUMENTS}/{response.json()['id']}"

    async def ready() -> dict[str, Any] | None:
        document: dict[str, Any] = (await api.get(url, headers=admin.headers)).json()
        return document if document["status"] == "ready" else None

    found = await eventually(ready, "the document ready")
    assert found is not None
    return found


async def preview(api: httpx.AsyncClient, staff: Staff, text: str) -> dict[str, Any]:
    body = {"text": text, "guest_name": GUEST_FIRST_NAME}
    response = await api.post(PREVIEW, headers=staff.headers, json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def sent_reply(system: System, message: dict[str, Any]) -> dict[str, Any]:
    async def sent() -> list[dict[str, Any]]:
        replies = await system.replies(message["id"])
        return replies if replies and replies[0]["status"] == "sent" else []

    [reply] = await eventually(sent, "the reply sent")
    return reply


async def test_a_document_answers_what_only_it_knows_as_the_preview_said_until_deleted(
    system: System, make_tenant: MakeTenant, api: httpx.AsyncClient, make_staff: MakeStaff
) -> None:
    guest: GuestChannel = await system.tenant(make_tenant)
    admin = await make_staff(guest.tenant_id, roles=("admin",))
    agent = await make_staff(guest.tenant_id, roles=("agent",))
    # Before the document: a person is asked, and the preview says so.
    before = await preview(api, agent, ONLY_THE_GUIDE_KNOWS)
    assert (before["decision"], before["reason"]) == ("escalate", "low_confidence")

    document = await upload_guide(api, admin)
    cooking = next(p for p in document["passages"] if p["heading"] == "Cooking classes")
    foreseen = await preview(api, agent, ONLY_THE_GUIDE_KNOWS)
    assert foreseen["decision"] == "reply"
    assert foreseen["source"] == {"kind": "passage", "id": cooking["id"]}
    assert foreseen["confidence"] >= foreseen["threshold"]
    webhook = await guest.say(ONLY_THE_GUIDE_KNOWS)

    message = await system.decided(webhook)
    assert message["ai_decision"] == "reply", message["ai_decision_reason"]
    assert message["ai_decision_reason"] == (
        f"document_match passage={cooking['id']} confidence={foreseen['confidence']:.2f}"
    )
    reply = await sent_reply(system, message)
    assert reply["content"] == foreseen["reply_text"]
    assert "pasta-making class at the Centro restaurant" in reply["content"]
    assert "“Guest guide”" in reply["content"]

    # A question the FAQ answers keeps its FAQ answer, as foreseen.
    foreseen_faq = await preview(api, agent, THE_FAQ_KNOWS)
    assert foreseen_faq["source"]["kind"] == "item"
    faq_webhook = await guest.say(THE_FAQ_KNOWS)
    faq_message = await system.decided(faq_webhook)
    assert faq_message["ai_decision_reason"] == (
        f"knowledge_match item={foreseen_faq['source']['id']}"
        f" confidence={foreseen_faq['confidence']:.2f}"
    )
    assert (await sent_reply(system, faq_message))["content"] == foreseen_faq["reply_text"]

    # Deleted: the cached context forgets it as the delete commits.
    response = await api.delete(f"{DOCUMENTS}/{document['id']}", headers=admin.headers)
    assert response.status_code == 200, response.text
    after = await preview(api, agent, ONLY_THE_GUIDE_KNOWS)
    assert (after["decision"], after["reason"]) == ("escalate", "low_confidence")
    again = await guest.say(ONLY_THE_GUIDE_KNOWS)
    decided_again = await system.decided(again)
    assert decided_again["ai_decision"] == "escalate", decided_again["ai_decision_reason"]
    assert decided_again["ai_decision_reason"].startswith("low_confidence")
    assert await system.replies(decided_again["id"]) == []


async def test_the_preview_writes_nothing_and_sends_nothing(
    system: System, make_tenant: MakeTenant, api: httpx.AsyncClient, make_staff: MakeStaff
) -> None:
    guest = await system.tenant(make_tenant)
    agent = await make_staff(guest.tenant_id, roles=("agent",))
    tables = ("messages", "conversations", "outbox", "staff_notifications", "config_audit")

    async def counts() -> list[int]:
        return [
            int(
                (
                    await system.rows(
                        f"SELECT count(*) AS n FROM {table} WHERE tenant_id = :t",
                        t=guest.tenant_id,
                    )
                )[0]["n"]
            )
            for table in tables
        ]

    async def nothing_due() -> bool:
        # The stand-in is shared with the module's other tests: let their due replies go first.
        # Only this module's tenants send to it: an earlier module's alert that its workers
        # left undelivered never goes, and is none of this test's business.
        [row] = await system.rows(
            "SELECT (SELECT count(*) FROM messages WHERE direction = 'outbound'"
            "         AND status IN ('pending', 'sending') AND send_after <= now()"
            "         AND tenant_id = ANY(:tenants))"
            "     + (SELECT count(*) FROM staff_notifications WHERE alerts_sent = 0"
            "         AND next_alert_at <= now() AND tenant_id = ANY(:tenants))"
            "     + (SELECT count(*) FROM staff_alert_deliveries WHERE status = 'sending'"
            "         AND tenant_id = ANY(:tenants)) AS n",
            tenants=system.tenant_ids,
        )
        return int(row["n"]) == 0

    await eventually(nothing_due)
    before = await counts()
    sent_before = len(system.stand_in_sent)
    for text in (THE_FAQ_KNOWS, "This is a disgrace, I want a refund!", "thanks!"):
        await preview(api, agent, text)

    assert await counts() == before
    assert len(system.stand_in_sent) == sent_before
