"""The pipeline with a clock the tests move: the real ingress, intake, sentiment, autoreply (and
so the dialogue responder), escalation and the dispatcher, on RabbitMQ and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from persistence.crypto import SecretCipher
from persistence.db import create_engine
from persistence.flows import install
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import api, api_app, api_services, hotel, make_staff  # noqa: F401
from tests.conftest import MakeTenant
from tests.pipeline.conftest import (
    GuestChannel,
    System,
    _delete_topology,
    eventually,
    free_port,
    serve,
)
from workers.consumers import autoreply, escalation, intake, sentiment
from workers.consumers.tenant_context import TenantContexts
from workers.dispatch.main import run_dispatcher
from workers.ingress.server import build_app
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for
from workers.settings import Settings
from workers.standin import create_app as create_stand_in

__all__ = ["Clock", "FlowSystem", "eventually"]


@dataclass
class Clock:
    """The autoreply consumer's time: real time plus an offset the tests move forward."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


@dataclass
class FlowSystem:
    system: System
    clock: Clock

    async def restaurant(self, make_tenant: MakeTenant, *flows: tuple[str, Any]) -> GuestChannel:
        """A restaurant on Telegram with the given scenarios published."""
        guests = await self.system.tenant(make_tenant)
        async with self.system.uow_factory(guests.tenant_id) as uow:
            for name, flow in flows:
                await install(uow, name=name, flow=flow, at=self.clock())
            await uow.commit()
        return guests

    async def reply_to(self, webhook: Any) -> tuple[dict[str, Any], str]:
        """The decided inbound row and the text of the one reply it got."""
        row = await self.system.decided(webhook)

        async def answered() -> list[dict[str, Any]]:
            return await self.system.replies(row["id"])

        replies = await eventually(answered) if row["ai_decision"] != "skip" else []
        assert len(replies) <= 1, replies
        return row, replies[0]["content"] if replies else ""

    async def dialog(self, conversation_id: Any) -> dict[str, Any]:
        rows = await self.system.rows(
            "SELECT * FROM bot_dialog_states WHERE conversation_id = :c", c=conversation_id
        )
        return rows[0]


@pytest.fixture(scope="module")
async def flows(database: Settings, uow_factory: UnitOfWorkFactory) -> AsyncIterator[FlowSystem]:
    from uuid import uuid4

    stand_in_port, ingress_port = free_port(), free_port()
    settings = database.model_copy(
        update={
            "exchange": f"test.flows.{uuid4().hex}",
            "public_base_url": f"http://127.0.0.1:{ingress_port}",
            "channel_cache_seconds": 0.5,
        }
    )
    clock = Clock()
    stand_in = create_stand_in()
    servers = [await serve(stand_in, stand_in_port), await serve(build_app(settings), ingress_port)]
    stop = asyncio.Event()
    consumers = [
        intake.consumer(),
        sentiment.consumer(),
        autoreply.consumer(contexts=TenantContexts(ttl=0.0), clock=clock),
        escalation.consumer(),
    ]
    await declare_for(
        settings.amqp_url, settings.exchange, [c.queues(settings.exchange) for c in consumers]
    )
    tasks = [
        asyncio.create_task(run_workers(settings, consumers, stop=stop)),
        asyncio.create_task(run_dispatcher(settings, stop)),
    ]
    owner = create_engine(settings.migration_database_url, schema=settings.db_schema)
    async with httpx.AsyncClient(base_url=settings.public_base_url, timeout=10.0) as http:
        system = System(
            settings=settings,
            http=http,
            owner=owner,
            uow_factory=uow_factory,
            stand_in_sent=stand_in.state.sent,
            stand_in_url=f"http://127.0.0.1:{stand_in_port}",
            cipher=SecretCipher.from_settings(settings),
        )
        yield FlowSystem(system, clock)
    stop.set()
    await asyncio.gather(*tasks)
    for server, task in servers:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await owner.dispose()
    await _delete_topology(settings, consumers)
