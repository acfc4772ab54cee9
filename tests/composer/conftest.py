"""The pipeline with the composer: the real ingress, consumers on RabbitMQ, dispatcher and
provider stand-in (as in ``tests.pipeline``), plus a local OpenAI-compatible model server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from persistence.crypto import SecretCipher
from persistence.db import create_engine
from persistence.uow import UnitOfWorkFactory
from tests.composer.fake_model import Answer, FakeModel, Tenant
from tests.conftest import MakeTenant
from tests.pipeline.conftest import GuestChannel, System, _delete_topology, free_port, serve
from workers.consumers import autoreply, composer, escalation, intake, sentiment
from workers.consumers.tenant_context import TenantContexts
from workers.dispatch.main import run_dispatcher
from workers.ingress.server import build_app
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for
from workers.settings import Settings
from workers.standin import create_app as create_stand_in

API_KEY = f"sk-test-{uuid4().hex}{uuid4().hex}"


@dataclass
class ModelTenant:
    guest: GuestChannel
    model: Tenant
    key: str

    @property
    def tenant_id(self) -> UUID:
        return self.guest.tenant_id


@dataclass
class ComposerSystem:
    system: System
    fake: FakeModel
    fake_url: str

    async def tenant(
        self,
        make_tenant: MakeTenant,
        answer: Answer | None,
        *,
        configure: bool = True,
        **values: Any,
    ) -> ModelTenant:
        """A pipeline tenant whose model (enabled unless ``configure`` is False) is the fake
        server answering with ``answer``; ``values`` go to the model settings or AI settings."""
        model_values = {
            name: values.pop(name)
            for name in ("timeout_seconds", "monthly_token_budget", "max_tokens")
            if name in values
        }
        guest = await self.system.tenant(make_tenant, **values)
        key = uuid4().hex
        if configure:
            await self.configure(guest.tenant_id, key, **model_values)
        return ModelTenant(guest, self.fake.script(key, answer), key)

    async def configure(self, tenant_id: UUID, key: str, **values: Any) -> None:
        async with self.system.uow_factory(tenant_id) as uow:
            row = await uow.composer.add_settings()
            row.enabled = True
            row.base_url = f"{self.fake_url}/t/{key}"
            row.model = "test-model"
            row.api_key_encrypted = uow.composer.encrypt(API_KEY)
            row.temperature = Decimal("0.2")
            for name, value in values.items():
                setattr(row, name, value)
            await uow.commit()

    async def composition(self, message_id: UUID) -> dict[str, Any] | None:
        rows = await self.system.rows(
            "SELECT * FROM compositions WHERE message_id = :m", m=message_id
        )
        return rows[0] if rows else None


@pytest.fixture(scope="module")
async def composing(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> AsyncIterator[ComposerSystem]:
    stand_in_port, ingress_port, model_port = free_port(), free_port(), free_port()
    settings = database.model_copy(
        update={
            "exchange": f"test.composer.{uuid4().hex}",
            "public_base_url": f"http://127.0.0.1:{ingress_port}",
            "channel_cache_seconds": 0.5,
        }
    )
    fake = FakeModel()
    stand_in = create_stand_in()
    servers = [
        await serve(stand_in, stand_in_port),
        await serve(build_app(settings), ingress_port),
        await serve(fake.app, model_port),
    ]
    stop = asyncio.Event()
    consumers = [
        intake.consumer(),
        sentiment.consumer(),
        autoreply.consumer(contexts=TenantContexts(ttl=0.0)),
        composer.consumer(uow_factory=uow_factory, contexts=TenantContexts(ttl=0.0)),
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
        yield ComposerSystem(system, fake, f"http://127.0.0.1:{model_port}")
    fake.released.set()
    stop.set()
    await asyncio.gather(*tasks)
    for server, task in servers:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await owner.dispose()
    await _delete_topology(settings, consumers)
