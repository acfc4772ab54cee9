"""The whole system in one test process: the real ingress over HTTP, the four consumers on the
real RabbitMQ, the dispatcher, the provider stand-in, all on a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import time as wall_time
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import aio_pika
import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.db import create_engine
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from tests.support.waiting import eventually
from workers.consumers import autoreply, escalation, intake, sentiment
from workers.consumers.tenant_context import TenantContexts
from workers.dispatch.main import run_dispatcher
from workers.ingress.server import build_app
from workers.runtime.consumer import Consumer
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for, delete_consumer
from workers.settings import Settings
from workers.standin import create_app as create_stand_in
from workers.webhook_samples import SampleChannel, Webhook, build

KNOWLEDGE = Path(__file__).parents[2] / "persistence" / "demo" / "knowledge_base.json"
BOT_TOKEN = "424242:test-bot-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    return server, task


@dataclass
class GuestChannel:
    """A tenant's Telegram bot as the tests' guests write to it."""

    tenant_id: UUID
    channel: SampleChannel
    system: System
    seq: int = 0

    def webhook(self, text_: str, *, guest: int = 1) -> Webhook:
        self.seq += 1
        return build(
            self.channel,
            seq=int(uuid4().int % 10**9) * 10 + self.seq,
            text=text_,
            base_url=self.system.settings.public_base_url,
            guest=guest,
        )

    async def post(self, webhook: Webhook) -> httpx.Response:
        return await self.system.http.post(
            webhook.path, content=webhook.body, headers=webhook.headers
        )

    async def say(self, text_: str, *, guest: int = 1) -> Webhook:
        webhook = self.webhook(text_, guest=guest)
        response = await self.post(webhook)
        assert response.status_code == 200, response.text
        return webhook


@dataclass
class System:
    settings: Settings
    http: httpx.AsyncClient
    owner: AsyncEngine
    uow_factory: UnitOfWorkFactory
    stand_in_sent: Any
    stand_in_url: str
    cipher: SecretCipher
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    # The tenants ``tenant`` made for this system (the database holds other modules' too).
    tenant_ids: list[UUID] = field(default_factory=list)

    async def rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        """Run SQL across tenants as the owner (the tests' view, not the application's);
        a statement that writes is committed."""
        async with self.owner.begin() as connection:
            result = await connection.execute(text(query), params)
            return [dict(row) for row in result.mappings()]

    async def inbound(self, webhook: Webhook) -> list[dict[str, Any]]:
        return await self.rows(
            "SELECT * FROM messages WHERE direction = 'inbound' AND provider_message_id = :p",
            p=webhook.provider_message_id,
        )

    async def decided(self, webhook: Webhook, *, deadline: float = 20.0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            rows = await self.inbound(webhook)
            return rows[0] if rows and rows[0]["ai_decision"] else None

        return await eventually(check, deadline=deadline)

    async def replies(self, message_id: UUID) -> list[dict[str, Any]]:
        return await self.rows(
            "SELECT * FROM messages WHERE in_reply_to_id = :m ORDER BY created_at", m=message_id
        )

    async def notifications(self, message_id: UUID) -> list[dict[str, Any]]:
        return await self.rows(
            "SELECT * FROM staff_notifications WHERE message_id = :m", m=message_id
        )

    def sent_to_provider(self, provider: str) -> list[dict[str, Any]]:
        return [entry for entry in self.stand_in_sent if entry["provider"] == provider]

    async def tenant(self, make_tenant: MakeTenant, **ai_settings: Any) -> GuestChannel:
        """A restaurant on Telegram with the demo knowledge base, a published prompt and a
        staff alert webhook, its sends going to the stand-in."""
        fixture = await make_tenant(
            vertical="restaurant",
            provider=Provider.TELEGRAM,
            address="@test_bot",
            credentials={"bot_token": BOT_TOKEN, "api_base_url": f"{self.stand_in_url}/telegram"},
            webhook_secret=f"secret-{uuid4().hex}",
            timezone=ai_settings.pop("timezone", "Europe/Rome"),
            **ai_settings,
        )
        knowledge = json.loads(KNOWLEDGE.read_text())["trattoria-roma"]
        async with self.uow_factory(fixture.tenant_id) as uow:
            for category in knowledge["categories"]:
                category_id = await uow.knowledge.upsert_category(
                    slug=category["slug"],
                    name=category["name"],
                    display_order=category.get("display_order", 0),
                    example_questions=category.get("example_questions", []),
                )
                for item in category["items"]:
                    await uow.knowledge.upsert_item(
                        category_id=category_id,
                        key=item["key"],
                        question=item["question"],
                        answer=item["answer"],
                        example_questions=item.get("example_questions", []),
                    )
            prompt = await uow.prompts.add(body="You are the restaurant's helpful assistant.")
            await uow.prompts.publish(version=prompt.version)
            await uow.alert_targets.add_webhook_target(
                name="staff room", webhook_url=f"{self.stand_in_url}/staff-alerts"
            )
            await uow.commit()
        self.tenant_ids.append(fixture.tenant_id)
        channel = SampleChannel(
            tenant=0,
            provider="telegram",
            public_id=str(fixture.public_id),
            webhook_secret=fixture.webhook_secret or "",
            address="@test_bot",
            provider_account=BOT_TOKEN.split(":", 1)[0],
        )
        return GuestChannel(fixture.tenant_id, channel, self)


def quiet_hours_around_now(timezone: str) -> tuple[wall_time, wall_time]:
    """A quiet-hours window of two hours centred on the current wall time in ``timezone``."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    now = datetime.now(ZoneInfo(timezone))
    return ((now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time())


@pytest.fixture(scope="module")
async def system(database: Settings, uow_factory: UnitOfWorkFactory) -> AsyncIterator[System]:
    stand_in_port, ingress_port = free_port(), free_port()
    settings = database.model_copy(
        update={
            "exchange": f"test.pipeline.{uuid4().hex}",
            "public_base_url": f"http://127.0.0.1:{ingress_port}",
            "channel_cache_seconds": 0.5,
        }
    )
    stand_in = create_stand_in()
    servers = [await serve(stand_in, stand_in_port), await serve(build_app(settings), ingress_port)]
    stop = asyncio.Event()
    consumers = [
        intake.consumer(),
        sentiment.consumer(),
        # No caching of tenant settings: tests change them between messages.
        autoreply.consumer(contexts=TenantContexts(ttl=0.0)),
        escalation.consumer(),
    ]
    # Bound before the first webhook, as `frontdesk up` does: an unroutable publish is a 503.
    await declare_for(
        settings.amqp_url, settings.exchange, [c.queues(settings.exchange) for c in consumers]
    )
    tasks = [
        asyncio.create_task(run_workers(settings, consumers, stop=stop)),
        asyncio.create_task(run_dispatcher(settings, stop)),
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
    for server, task in servers:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await owner.dispose()
    await _delete_topology(settings, consumers)


async def _delete_topology(settings: Settings, consumers: list[Consumer]) -> None:
    """The module's queues and exchange go with it, so test runs leave RabbitMQ as it was."""
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        for consumer in consumers:
            await delete_consumer(channel, consumer.queues(settings.exchange))
        await channel.exchange_delete(settings.exchange)
    finally:
        await connection.close()
