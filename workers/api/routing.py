"""Routing for staff: one's own availability (``conversations.reply``), the agents and the queue
of conversations waiting for one (``conversations.assign``), another agent's availability and
capacity and handing the queue out now (``routing.manage``).

An agent takes conversations from the router while ``online`` and below their capacity; ``away``
and ``offline`` keep what they have and get nothing new. Going online, or a higher capacity,
hands out what waits (oldest first) at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import Field

from domain.routing import Availability, Candidate
from persistence.repositories.routing import AgentRow
from workers.api.commands import routing as commands
from workers.api.inbox_actions import commit
from workers.api.problems import invalid, not_found
from workers.api.schemas import Body, Out
from workers.api.security import Context, require

router = APIRouter(tags=["routing"])
Replying = Annotated[Context, Depends(require("conversations.reply"))]
Assigning = Annotated[Context, Depends(require("conversations.assign"))]
Managing = Annotated[Context, Depends(require("routing.manage"))]
Capacity = Annotated[int, Field(ge=0, le=200)]


def _now() -> datetime:
    return datetime.now(UTC)


class AvailabilityIn(Body):
    availability: Availability


class AgentStatusIn(Body):
    """Either or both; a field left out stays as it is."""

    availability: Availability | None = None
    capacity: Capacity | None = None


class AgentOut(Out):
    user_id: UUID
    email: str
    full_name: str
    availability: Availability
    capacity: int
    open_conversations: int
    skills: list[str]
    team_ids: list[UUID]
    last_assigned_at: datetime | None
    availability_changed_at: datetime | None


class WaitingOut(Out):
    conversation_id: UUID
    channel_id: UUID
    team_id: UUID | None
    topic: str | None
    language: str | None
    waiting_since: datetime
    waiting_seconds: int


class AssignmentOut(Out):
    conversation_id: UUID
    user_id: UUID
    team_id: UUID | None


class RebalanceOut(Out):
    assigned: list[AssignmentOut]


def _agent_out(row: AgentRow) -> AgentOut:
    agent: Candidate = row.candidate
    return AgentOut(
        user_id=agent.user_id,
        email=row.email,
        full_name=row.full_name,
        availability=agent.availability,
        capacity=agent.capacity,
        open_conversations=agent.open_conversations,
        skills=sorted(agent.skills),
        team_ids=sorted(agent.team_ids, key=str),
        last_assigned_at=agent.last_assigned_at,
        availability_changed_at=row.availability_changed_at,
    )


async def _agent(context: Context, user_id: UUID) -> AgentOut:
    rows = await context.uow.routing.candidates(online_only=False)
    for row in rows:
        if row.candidate.user_id == user_id:
            return _agent_out(row)
    raise not_found("agent")


def _me(context: Context) -> UUID:
    user_id = context.principal.user_id
    if user_id is None:
        raise invalid("Authorization", "an API key has no availability; sign in as the agent")
    return user_id


@router.get("/me/availability", response_model=AgentOut)
async def my_availability(context: Replying) -> AgentOut:
    """The caller's availability, capacity and open conversations (offline until set)."""
    me = _me(context)
    await commands.ensure_agent(context.uow, user_id=me)
    return await _agent(context, me)


@router.put("/me/availability", response_model=AgentOut)
async def set_my_availability(body: AvailabilityIn, context: Replying) -> AgentOut:
    """Go online (take conversations), away or offline (keep yours, get no new ones)."""
    me = _me(context)
    await commands.set_agent_status(
        context.uow,
        actor=context.principal.actor,
        user_id=me,
        now=_now(),
        availability=body.availability,
    )
    out = await _agent(context, me)
    await commit(context)
    return out


@router.get("/routing/agents", response_model=list[AgentOut])
async def list_agents(context: Assigning) -> list[AgentOut]:
    """Everyone who may reply to guests, with their availability, capacity and load."""
    return [_agent_out(row) for row in await context.uow.routing.candidates(online_only=False)]


@router.put("/users/{user_id}/routing", response_model=AgentOut)
async def set_agent_status(user_id: UUID, body: AgentStatusIn, context: Managing) -> AgentOut:
    """Set an agent's capacity (the most open conversations the router gives them) and/or
    availability."""
    await commands.set_agent_status(
        context.uow,
        actor=context.principal.actor,
        user_id=user_id,
        now=_now(),
        availability=body.availability,
        capacity=body.capacity,
    )
    out = await _agent(context, user_id)
    await commit(context)
    return out


@router.get("/routing/queue", response_model=list[WaitingOut])
async def queue(context: Assigning) -> list[WaitingOut]:
    """Conversations waiting for an agent, oldest first (at most 500)."""
    now = _now()
    return [
        WaitingOut(
            conversation_id=item.conversation_id,
            channel_id=item.channel_id,
            team_id=item.team_id,
            topic=item.topic,
            language=item.language,
            waiting_since=item.waiting_since,
            waiting_seconds=max(0, int((now - item.waiting_since).total_seconds())),
        )
        for item in await context.uow.routing.waiting()
    ]


@router.post("/routing/rebalance", response_model=RebalanceOut)
async def rebalance(context: Managing) -> RebalanceOut:
    """Hand out the queue now, oldest first, as the router does whenever capacity appears."""
    made = await commands.rebalance(context.uow, actor=context.principal.actor, now=_now())
    await commit(context)
    return RebalanceOut(
        assigned=[
            AssignmentOut(conversation_id=a.conversation_id, user_id=a.user_id, team_id=a.team_id)
            for a in made
        ]
    )
