"""The router's pass over a tenant: queue a conversation that needs a human, and hand the queue
out, oldest first, to the agents who can take it (``domain.routing``).

One pass holds the tenant's routing lock while it counts and assigns, so under any number of
router processes no agent goes past capacity; each conversation is taken only while it still
waits, so it never gets two assignees, and one a person assigns at that moment is theirs.
Each assignment writes the conversation's trail (``conversation_events``, the system as actor)
and a ``conversation.updated`` event (``change="assignment"``) for the staff event stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.events import ConversationUpdated
from domain.routing import Need, choose_agent, choose_team, language_of
from persistence.uow import UnitOfWork

# Conversations one pass considers: the oldest this many (a later pass takes the rest).
PASS_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Assignment:
    conversation_id: UUID
    user_id: UUID
    team_id: UUID | None


async def request_human(
    uow: UnitOfWork, *, conversation_id: UUID, topic: str | None, now: datetime
) -> bool:
    """Queue the conversation for an agent; False if it has one or a person chose for it."""
    return await uow.routing.request(conversation_id=conversation_id, topic=topic, at=now)


async def route_waiting(uow: UnitOfWork, *, now: datetime) -> list[Assignment]:
    """Assign what waits, oldest first, to whoever can take it now; the caller commits."""
    await uow.routing.lock()
    waiting = await uow.routing.waiting(limit=PASS_LIMIT)
    if not waiting:
        return []
    agents = {row.candidate.user_id: row.candidate for row in await uow.routing.candidates()}
    if not agents:
        return []
    rules = await uow.routing.rules()
    made: list[Assignment] = []
    for item in waiting:
        rule = choose_team(
            rules, channel_id=item.channel_id, property_id=item.property_id, topic=item.topic
        )
        team_id = rule.team_id if rule is not None else item.team_id
        need = Need(language=language_of(item.language), topic=item.topic)
        chosen = choose_agent(list(agents.values()), need, team_id=team_id)
        if chosen is None:
            continue
        if not await uow.routing.assign(
            waiting=item, user_id=chosen.user_id, team_id=team_id, at=now
        ):
            continue  # a person assigned it meanwhile
        agents[chosen.user_id] = chosen.took_one(now)
        uow.emit(
            ConversationUpdated(
                tenant_id=uow.tenant_id,
                conversation_id=item.conversation_id,
                change="assignment",
                actor_user_id=None,
                to_value=str(chosen.user_id),
            )
        )
        made.append(Assignment(item.conversation_id, chosen.user_id, team_id))
    return made
