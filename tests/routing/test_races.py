"""The router racing a person for one conversation, in the database: the person's choice wins,
whichever transaction starts first, and the router's pass hands out nothing it cannot keep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import uuid4

from sqlalchemy import text

from persistence.db import create_engine
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import CLI
from tests.conftest import MakeTenant
from tests.support.waiting import eventually
from workers.api.commands import inbox
from workers.api.commands.staff import add_user
from workers.assignment import route_waiting
from workers.settings import Settings


async def test_a_person_assigning_while_the_router_passes_wins(
    database: Settings, uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant()
    now = datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        chosen, online = [
            await add_user(
                uow,
                actor=CLI,
                email=f"{name}-{uuid4().hex[:6]}@hotel.example",
                full_name=name,
                roles=("agent",),
                password=None,
            )
            for name in ("chosen", "online")
        ]
        await uow.routing.set_status(user_id=online.id, at=now, availability="online")
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600999888")
        opened, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        assert await uow.routing.request(conversation_id=opened.id, topic=None, at=now)
        await uow.commit()

    owner = create_engine(database.migration_database_url, schema=database.db_schema)
    try:
        async with uow_factory(tenant.tenant_id) as person:
            conversation = await person.conversations.get(
                conversation_id=opened.id, for_update=True
            )
            assert conversation is not None
            await inbox.assign(
                person,
                conversation=conversation,
                assignee_id=chosen.id,
                team_id=None,
                actor_user_id=None,
            )

            async def router_pass() -> list[object]:
                async with uow_factory(tenant.tenant_id) as uow:
                    made = await route_waiting(uow, now=now)
                    await uow.commit()
                    return list(made)

            routing = asyncio.create_task(router_pass())

            async def router_waits_on_the_row() -> bool:
                async with owner.connect() as connection:
                    waiting = await connection.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                            " AND query LIKE 'UPDATE conversations SET assignee_id%'"
                        )
                    )
                return bool(waiting)

            await eventually(router_waits_on_the_row, "the router waiting for the person")
            await person.commit()
        assert await routing == []
    finally:
        await owner.dispose()
    async with uow_factory(tenant.tenant_id) as uow:
        after = await uow.conversations.get(conversation_id=opened.id)
        assert after is not None
        assert (after.assignee_id, after.assignment_manual) == (chosen.id, True)
        assert after.routing_requested_at is None
        events = await uow.conversations.list_events(conversation_id=opened.id)
        assert [(e.kind, e.to_value) for e in events if e.kind == "assignee"] == [
            ("assignee", str(chosen.id))
        ]
