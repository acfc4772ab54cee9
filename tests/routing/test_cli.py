"""`frontdesk routing queue|agent|rebalance` against the test database, as an operator runs them."""

from __future__ import annotations

from datetime import UTC, datetime

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import MakeStaff
from tests.conftest import MakeTenant
from tests.scheduling.test_cli import frontdesk
from workers.settings import Settings


async def test_an_operator_sees_the_queue_puts_an_agent_online_and_hands_it_out(
    database: Settings,
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    make_staff: MakeStaff,
) -> None:
    tenant = await make_tenant()
    agent = await make_staff(tenant.tenant_id)
    tenant_id = str(tenant.tenant_id)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="green_api", handle="+34600111222")
        opened, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=datetime.now(UTC)
        )
        assert await uow.routing.request(
            conversation_id=opened.id, topic="refund", at=datetime.now(UTC)
        )
        await uow.configuration.replace_skills(user_id=agent.user_id, skills={"topic:refund": 4})
        await uow.commit()

    queue = frontdesk(database, "routing", "queue", "--tenant", tenant_id)
    assert queue.returncode == 0, queue.stderr
    assert queue.stdout.splitlines()[0] == "1 waiting"
    assert f"{opened.id}  0 min  topic:refund" in queue.stdout

    online = frontdesk(
        database, "routing", "agent", "--tenant", tenant_id, "--email", agent.email,
        "--availability", "online", "--capacity", "2",
    )  # fmt: skip
    assert online.returncode == 0, online.stderr
    assert online.stdout.strip() == f"{agent.email}: online, capacity 2"
    handed = frontdesk(database, "routing", "rebalance", "--tenant", tenant_id)
    assert handed.returncode == 0, handed.stderr
    assert handed.stdout.splitlines() == ["1 assigned", f"{opened.id} -> {agent.user_id}"]
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.routing.waiting() == []
