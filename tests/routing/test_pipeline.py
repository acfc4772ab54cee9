"""A guest asking for a person reaches an agent: the real ingress, intake, sentiment, autoreply
and escalation, with the router consuming beside them on the same exchange."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from uuid import UUID

from tests.api.conftest import MakeStaff
from tests.conftest import MakeTenant
from tests.pipeline.conftest import System, _delete_topology, system  # noqa: F401
from tests.support.waiting import eventually
from workers.consumers import router
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for


async def test_a_guest_asking_for_a_person_is_assigned_to_an_online_agent(
    system: System,  # noqa: F811
    make_tenant: MakeTenant,
    make_staff: MakeStaff,
) -> None:
    consumer = router.consumer()
    settings = system.settings
    await declare_for(settings.amqp_url, settings.exchange, [consumer.queues(settings.exchange)])
    stop = asyncio.Event()
    worker = asyncio.create_task(run_workers(settings, [consumer], stop=stop))
    try:
        guest = await system.tenant(make_tenant)
        await make_staff(guest.tenant_id)  # offline: never chosen
        agent = await make_staff(guest.tenant_id)
        async with system.uow_factory(guest.tenant_id) as uow:
            await uow.routing.set_status(
                user_id=agent.user_id, at=datetime.now(UTC), availability="online"
            )
            await uow.commit()
        message = await system.decided(await guest.say("Can I speak to a real person please?"))
        assert message["ai_decision"] == "escalate"

        async def assignee() -> UUID | None:
            rows = await system.rows(
                "SELECT assignee_id FROM conversations WHERE id = :c",
                c=message["conversation_id"],
            )
            found: UUID | None = rows[0]["assignee_id"]
            return found

        assert await eventually(assignee, "the conversation assigned") == agent.user_id
        [notification] = await system.notifications(message["id"])
        assert notification["type"] == "human_requested"  # staff are alerted as before
    finally:
        stop.set()
        await worker
        await _delete_topology(settings, [consumer])
