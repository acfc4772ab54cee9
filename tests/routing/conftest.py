"""Routing on the real broker and database: two router workers competing for one queue (each with
its own connections, as two processes have), a clock the tests move, and the management API
served by uvicorn with its publisher and live events, so staff actions reach the router and
assignments reach the event stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import text

from domain.events import EscalationRequested, Event
from persistence.db import create_engine
from persistence.models import TeamMembership
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import api, api_app, api_services, build_services, make_staff  # noqa: F401
from tests.conftest import TenantFixture
from tests.inbox.test_live_events import LiveApi
from tests.pipeline.conftest import _delete_topology, free_port, serve
from tests.support.waiting import eventually
from workers.api.app import create_app
from workers.api.events import LiveEvents
from workers.consumers import router
from workers.runtime.publisher import Publisher
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for
from workers.settings import Settings

__all__ = ["Clock", "Routing", "eventually"]
WORKERS = 2


@dataclass
class Clock:
    """The router's time: real time plus an offset the tests move forward."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, by: timedelta) -> None:
        self.offset += by


@dataclass(frozen=True)
class Trail:
    kind: str
    actor_type: str
    from_value: str | None
    to_value: str | None


@dataclass
class Routing:
    settings: Settings
    clock: Clock
    publisher: Publisher
    live: LiveApi
    uow_factory: UnitOfWorkFactory
    owner: Any

    @property
    def http(self) -> httpx.AsyncClient:
        return self.live.client

    async def publish(self, *events: Event) -> None:
        await self.publisher.publish_many(list(events))

    async def escalate(self, tenant_id: UUID, conversation_id: UUID, detail: str = "") -> None:
        """What autoreply publishes when a guest needs staff."""
        await self.publish(
            EscalationRequested(
                tenant_id=tenant_id,
                conversation_id=conversation_id,
                reason="escalation" if detail else "human_requested",
                detail=detail,
            )
        )

    async def conversation(
        self, tenant: TenantFixture, *, language: str | None = None, team_id: UUID | None = None
    ) -> UUID:
        """A guest's open conversation with one message; ``language`` the guest's."""
        async with self.uow_factory(tenant.tenant_id) as uow:
            guest = await uow.guests.upsert_by_identity(
                kind=tenant.provider.value, handle=f"+3460{uuid4().int % 10**7:07d}"
            )
            if language:
                row = await uow.guests.get(guest_id=guest.id)
                assert row is not None
                row.language = language
            opened, _ = await uow.conversations.find_or_open(
                guest_id=guest.id, channel_id=tenant.channel_id, at=datetime.now(UTC)
            )
            await uow.inbound.add(
                conversation_id=opened.id,
                channel_id=tenant.channel_id,
                provider_message_id=f"in-{uuid4().hex}",
                content="I need a person",
            )
            if team_id is not None:
                conversation = await uow.conversations.get(conversation_id=opened.id)
                assert conversation is not None
                conversation.team_id = team_id
            await uow.commit()
        return opened.id

    async def team(self, tenant_id: UUID, members: Sequence[UUID]) -> UUID:
        async with self.uow_factory(tenant_id) as uow:
            team = await uow.staff.add_team(name=f"team-{uuid4().hex[:8]}")
            for user_id in members:
                uow.session.add(
                    TeamMembership(tenant_id=tenant_id, team_id=team.id, user_id=user_id)
                )
            await uow.commit()
        return team.id

    async def set_agent(
        self, tenant_id: UUID, user_id: UUID, *, skills: Sequence[str] = (), **status: Any
    ) -> None:
        """Skills, capacity and availability written directly (no event: nobody is told)."""
        async with self.uow_factory(tenant_id) as uow:
            await uow.configuration.replace_skills(user_id=user_id, skills=dict.fromkeys(skills, 3))
            await uow.routing.set_status(user_id=user_id, at=self.clock(), **status)
            await uow.commit()

    async def assignees(self, tenant_id: UUID) -> dict[UUID, UUID | None]:
        rows = await self.rows(
            "SELECT id, assignee_id FROM conversations WHERE tenant_id = :t", t=tenant_id
        )
        return {row["id"]: row["assignee_id"] for row in rows}

    async def assigned(self, tenant_id: UUID, conversation_id: UUID) -> UUID | None:
        return (await self.assignees(tenant_id)).get(conversation_id)

    async def wait_assigned(self, tenant_id: UUID, conversation_id: UUID) -> UUID:
        async def check() -> UUID | None:
            return await self.assigned(tenant_id, conversation_id)

        assigned = await eventually(check, f"conversation {conversation_id} assigned")
        assert assigned is not None
        return assigned

    async def trail(self, tenant_id: UUID, conversation_id: UUID) -> list[Trail]:
        """The conversation's assignment rows, in order."""
        rows = await self.rows(
            "SELECT kind, actor_type, from_value, to_value FROM conversation_events"
            " WHERE tenant_id = :t AND conversation_id = :c AND kind IN ('assignee', 'team')"
            " ORDER BY created_at, kind",
            t=tenant_id,
            c=conversation_id,
        )
        return [Trail(**row) for row in rows]

    async def rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async with self.owner.begin() as connection:
            result = await connection.execute(text(query), params)
            return [dict(row) for row in result.mappings()]


@pytest.fixture(scope="module")
async def routing(database: Settings, uow_factory: UnitOfWorkFactory) -> AsyncIterator[Routing]:
    settings = database.model_copy(update={"exchange": f"test.routing.{uuid4().hex}"})
    clock = Clock()
    consumers = [router.consumer(clock=clock) for _ in range(WORKERS)]
    await declare_for(
        settings.amqp_url, settings.exchange, [consumers[0].queues(settings.exchange)]
    )
    stop = asyncio.Event()
    workers = [
        asyncio.create_task(run_workers(settings, [consumer], stop=stop)) for consumer in consumers
    ]
    publisher = Publisher.from_settings(settings)
    app = create_app(build_services(settings, uow_factory, publisher=publisher))
    hub = LiveEvents(
        amqp_url=settings.amqp_url,
        exchange=settings.exchange,
        uow_factory=uow_factory,
        heartbeat=0.2,
    )
    app.state.live_events = hub
    port = free_port()
    server, serving = await serve(app, port)
    owner = create_engine(settings.migration_database_url, schema=settings.db_schema)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10.0, read=30.0)) as client:
        await publisher.connect()
        yield Routing(settings, clock, publisher, LiveApi(base, hub, client), uow_factory, owner)
    server.should_exit = True
    await hub.close()
    with contextlib.suppress(asyncio.CancelledError):
        await serving
    stop.set()
    await asyncio.gather(*workers)
    await publisher.close()
    await owner.dispose()
    await _delete_topology(settings, consumers[:1])
