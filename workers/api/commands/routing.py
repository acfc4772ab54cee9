"""Routing commands the API and the operator CLI share: an agent's availability and capacity,
and a pass of the router over the tenant's queue. Each writes its rows (and its audit row) in
the caller's unit of work; the caller commits."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from domain.events import AgentAvailabilityChanged
from domain.routing import Availability
from persistence.models import AgentStatus
from persistence.repositories.access import AuditActor
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError
from workers.api.commands.staff import live_user
from workers.assignment import Assignment, route_waiting

REPLY = "conversations.reply"


class NotAnAgent(CommandError):
    field = "user_id"


async def ensure_agent(uow: UnitOfWork, *, user_id: UUID) -> None:
    """The user is a live, active staff member of the tenant who may reply to guests."""
    user = await live_user(uow, user_id)
    if not user.active:
        raise NotAnAgent("this staff member is deactivated")
    if REPLY not in await uow.access.permissions(user_id=user.id):
        raise NotAnAgent("this staff member cannot reply to guests (conversations.reply)")


async def set_agent_status(
    uow: UnitOfWork,
    *,
    actor: AuditActor,
    user_id: UUID,
    now: datetime,
    availability: Availability | None = None,
    capacity: int | None = None,
) -> AgentStatus:
    """Change a staff member's availability and/or capacity (audited); the router hears of it
    (``agent.availability``) and hands out what waits if they now have room."""
    await ensure_agent(uow, user_id=user_id)
    before = await uow.routing.status(user_id=user_id)
    old = _values(before) if before is not None else None
    row = await uow.routing.set_status(
        user_id=user_id, at=now, availability=availability, capacity=capacity
    )
    new = _values(row)
    if new != old:
        await uow.audit.add(
            actor=actor,
            resource="agent_status",
            resource_id=user_id,
            action="put",
            old=old,
            new=new,
        )
        uow.emit(
            AgentAvailabilityChanged(
                tenant_id=uow.tenant_id,
                user_id=user_id,
                availability=row.availability,
                capacity=row.capacity,
            )
        )
    return row


def _values(row: AgentStatus) -> dict[str, object]:
    return {"availability": row.availability, "capacity": row.capacity}


async def rebalance(uow: UnitOfWork, *, actor: AuditActor, now: datetime) -> list[Assignment]:
    """Hand out the queue now, oldest first (what the router does on its own when capacity
    appears); audited when it assigned anything."""
    made = await route_waiting(uow, now=now)
    if made:
        await uow.audit.add(
            actor=actor,
            resource="routing",
            resource_id=None,
            action="rebalance",
            new={"assigned": [str(item.conversation_id) for item in made]},
        )
    return made
