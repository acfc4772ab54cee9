"""router: conversations that need a human get a team and an agent (``workers.assignment``).

A conversation needs a human when it is escalated (any ``escalation.requested``: a guest asking
for a person, a topic staff handle, negative sentiment, low confidence, a message in a
conversation staff took over) or when a guest writes on a channel whose routing rule says
``humans_first``. It waits in the queue until an agent can take it; the queue is handed out
again whenever capacity may have appeared: an agent's availability or capacity changed, a
conversation was resolved or closed, or an agent was taken off one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from domain.events import (
    AgentAvailabilityChanged,
    ConversationUpdated,
    EscalationRequested,
    MessageAccepted,
)
from domain.routing import topic_of
from persistence.uow import UnitOfWork
from workers.assignment import request_human, route_waiting
from workers.runtime.consumer import Consumer

NAME = "router"
Clock = Callable[[], datetime]
RouterEvent = EscalationRequested | MessageAccepted | ConversationUpdated | AgentAvailabilityChanged


def utc_now() -> datetime:
    return datetime.now(UTC)


def frees_capacity(event: ConversationUpdated) -> bool:
    """An inbox action after which an agent may have room for another conversation."""
    if event.change == "status":
        return event.to_value in ("resolved", "closed")
    return event.change == "assignment" and event.from_value is not None


async def handle(event: RouterEvent, uow: UnitOfWork, *, now: datetime) -> None:
    if isinstance(event, EscalationRequested):
        topic = topic_of(event.detail)
        if not await request_human(
            uow, conversation_id=event.conversation_id, topic=topic, now=now
        ):
            return
    elif isinstance(event, MessageAccepted):
        if not await uow.routing.humans_first(channel_id=event.channel_id):
            return
        if not await request_human(uow, conversation_id=event.conversation_id, topic=None, now=now):
            return
    elif isinstance(event, ConversationUpdated):
        if not frees_capacity(event):
            return
        if event.change == "status":  # over: if it was waiting, it waits no more
            await uow.routing.leave_queue(conversation_id=event.conversation_id)
    await route_waiting(uow, now=now)


def consumer(*, clock: Clock = utc_now) -> Consumer:
    async def handle_event(event: RouterEvent, uow: UnitOfWork) -> None:
        await handle(event, uow, now=clock())

    return Consumer(
        name=NAME,
        routing_keys=(
            EscalationRequested.routing_key,
            MessageAccepted.routing_key,
            ConversationUpdated.routing_key,
            AgentAvailabilityChanged.routing_key,
        ),
        event_types=(
            EscalationRequested,
            MessageAccepted,
            ConversationUpdated,
            AgentAvailabilityChanged,
        ),
        handle=handle_event,
    )
