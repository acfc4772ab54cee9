"""Live events over Server-Sent Events, served by uvicorn on the real broker: one tenant's
events only, within the reader's scope, resumed after a reconnect with Last-Event-ID; a reader
that falls behind is told why and closed; an idle stream gets heartbeats."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import httpx
import pytest

from domain.events import ConversationUpdated
from domain.inbox import Scope
from tests.api.conftest import MakeStaff, build_services
from tests.conftest import MakeTenant
from tests.inbox.conftest import MakeConversation
from tests.pipeline.conftest import System, eventually, free_port, serve
from workers.api.app import create_app
from workers.api.events import LiveEvents, follow
from workers.runtime.publisher import Publisher


@dataclass
class Reader:
    """An SSE client: every event the stream sent, and every comment line."""

    response: httpx.Response
    events: list[dict[str, Any]] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        current: dict[str, Any] = {}
        async for line in self.response.aiter_lines():
            if line.startswith(":"):
                self.comments.append(line)
            elif not line:
                if "event" in current:
                    self.events.append(current)
                current = {}
            else:
                name, _, value = line.partition(": ")
                current[name] = json.loads(value) if name == "data" else value

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["event"] == kind]


@dataclass
class LiveApi:
    base_url: str
    hub: LiveEvents
    client: httpx.AsyncClient

    @contextlib.asynccontextmanager
    async def stream(
        self, headers: dict[str, str], last_event_id: str | None = None
    ) -> AsyncIterator[Reader]:
        extra = {"Accept": "text/event-stream", **headers}
        if last_event_id:
            extra["Last-Event-ID"] = last_event_id
        async with self.client.stream("GET", "/api/v1/events", headers=extra) as response:
            assert response.status_code == 200, await response.aread()
            reader = Reader(response)
            reader.task = asyncio.create_task(reader.run())
            await eventually(lambda: _true(bool(reader.comments)))
            try:
                yield reader
            finally:
                reader.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                    await reader.task


async def _true(value: bool) -> bool:
    return value


@pytest.fixture(scope="module")
async def live_api(system: System) -> AsyncIterator[LiveApi]:
    publisher = Publisher.from_settings(system.settings)
    app = create_app(build_services(system.settings, system.uow_factory, publisher=publisher))
    hub = LiveEvents(
        amqp_url=system.settings.amqp_url,
        exchange=system.settings.exchange,
        uow_factory=system.uow_factory,
        heartbeat=0.2,
    )
    app.state.live_events = hub
    port = free_port()
    server, task = await serve(app, port)
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(10.0, read=30.0)) as client:
        yield LiveApi(base, hub, client)
    server.should_exit = True
    await hub.close()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await publisher.close()


async def test_a_stream_carries_its_tenant_s_events_only_and_resumes_after_a_reconnect(
    system: System, make_tenant: MakeTenant, make_staff: MakeStaff, live_api: LiveApi
) -> None:
    ours = await system.tenant(make_tenant)
    theirs = await system.tenant(make_tenant)
    admin = await make_staff(ours.tenant_id, roles=("admin",))
    async with live_api.stream(admin.headers) as reader:
        other = await system.decided(await theirs.say("What are your opening hours?"))
        mine = await system.decided(await ours.say("What are your opening hours?"))

        async def heard() -> bool:
            accepted = reader.of("message.accepted")
            return any(e["data"]["message_id"] == str(mine["id"]) for e in accepted)

        await eventually(heard)
        await eventually(lambda: _true(bool(reader.of("message.scored"))))
        # Staff act in the inbox: the stream hears of it at once.
        taken = await live_api.client.post(
            f"/api/v1/conversations/{mine['conversation_id']}/takeover", headers=admin.headers
        )
        assert taken.status_code == 200, taken.text
        await eventually(lambda: _true(bool(reader.of("conversation.updated"))))
        assert {e["data"]["tenant_id"] for e in reader.events} == {str(ours.tenant_id)}
        assert str(other["conversation_id"]) not in {
            e["data"]["conversation_id"] for e in reader.events
        }
        last_id = reader.events[-1]["id"]

    # Away for a moment: the guest writes again.
    missed = await system.decided(await ours.say("Is there parking nearby?"))
    async with live_api.stream(admin.headers, last_event_id=last_id) as resumed:

        async def caught_up() -> bool:
            return any(
                e["data"].get("message_id") == str(missed["id"])
                for e in resumed.of("message.accepted")
            )

        await eventually(caught_up)
        assert resumed.of("reset") == []
        assert last_id not in [e["id"] for e in resumed.events]  # resumed after it
    async with live_api.stream(admin.headers, last_event_id="gone:1") as stale:
        await eventually(lambda: _true(bool(stale.of("reset"))))


async def test_an_agent_hears_only_the_conversations_in_their_scope(
    system: System, make_tenant: MakeTenant, make_staff: MakeStaff, live_api: LiveApi
) -> None:
    guest = await system.tenant(make_tenant)
    agent = await make_staff(guest.tenant_id, roles=("agent",))
    supervisor = await make_staff(guest.tenant_id, roles=("supervisor",))
    async with (
        live_api.stream(agent.headers) as agent_reader,
        live_api.stream(supervisor.headers) as supervisor_reader,
    ):
        message = await system.decided(await guest.say("Hello, anyone there?"))
        conversation = str(message["conversation_id"])

        async def supervisor_heard(kind: str) -> bool:
            return any(
                e["data"]["conversation_id"] == conversation for e in supervisor_reader.of(kind)
            )

        await eventually(lambda: supervisor_heard("message.accepted"))
        assigned = await live_api.client.put(
            f"/api/v1/conversations/{conversation}/assignment",
            headers=supervisor.headers,
            json={"assignee_id": str(agent.user_id)},
        )
        assert assigned.status_code == 200, assigned.text
        await eventually(lambda: supervisor_heard("conversation.updated"))
        # Before the assignment it was nobody's and of no team: not the agent's to see.
        assert agent_reader.of("message.accepted") == []
        await eventually(lambda: _true(bool(agent_reader.of("conversation.updated"))))
        # Heartbeats keep the idle stream open.
        await eventually(lambda: _true(any("heartbeat" in c for c in agent_reader.comments)))


async def test_a_reader_that_falls_behind_is_closed_with_the_reason(
    system: System, make_tenant: MakeTenant, make_conversation: MakeConversation
) -> None:
    hotel = await make_tenant()
    made = await make_conversation(hotel)
    hub = LiveEvents(
        amqp_url=system.settings.amqp_url,
        exchange=f"unused-{uuid4().hex}",
        uow_factory=system.uow_factory,
        stream_size=2,
        heartbeat=0.05,
    )
    log, stream, replay = hub.open(hotel.tenant_id, Scope(everything=True), None)
    assert replay == []
    for n in range(3):
        await hub.deliver(
            ConversationUpdated(
                tenant_id=hotel.tenant_id,
                conversation_id=made.conversation_id,
                change="note",
                to_value=str(n),
            )
        )
    assert stream.closed == "the reader fell more than 2 events behind"

    async def connected() -> bool:
        return False

    frames = [frame async for frame in follow(hub, log, stream, [], connected)]
    assert frames[-1].startswith(b"event: overflow")
    assert b"fell more than 2 events behind" in frames[-1]
    assert stream not in log.streams  # released: nothing more is kept for it
