"""triggers: condition triggers meet the events they listen for.

Bound to ``message.scored``, ``escalation.requested``, ``conversation.updated`` (a conversation
resolved) and ``reservation.changed`` (created or changed). Each event becomes one occurrence
about one subject, run against the tenant's condition triggers (``workers.triggers.firing``);
the runner's inbox and the firings' UNIQUE(trigger, subject) make a redelivered or repeated
event fire nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from domain.conditions import event_of
from domain.events import (
    ConversationUpdated,
    EscalationRequested,
    MessageScored,
    ReservationChanged,
)
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer
from workers.triggers.firing import Occurrence, occur

NAME = "triggers"
Clock = Callable[[], datetime]
Handled = MessageScored | EscalationRequested | ConversationUpdated | ReservationChanged


def utc_now() -> datetime:
    return datetime.now(UTC)


async def occurrences(event: Handled, uow: UnitOfWork) -> list[Occurrence]:
    """The condition events ``event`` is, each about its subject."""
    if isinstance(event, MessageScored):
        if not await uow.condition_triggers.listening(event="message.scored"):
            return []  # the guest's words are read only for a tenant that has a use for them
        message = await uow.messages.get(message_id=event.message_id)
        facts = {
            "message.sentiment_label": event.sentiment_label.value,
            "message.sentiment_score": event.sentiment_score,
            "message.requires_attention": event.requires_attention,
            "message.text": message.content if message else None,
        }
        return [
            Occurrence(
                "message.scored",
                f"message:{event.message_id}",
                event.occurred_at,
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                facts=facts,
            )
        ]
    if isinstance(event, EscalationRequested):
        about = event.message_id or event.event_id
        return [
            Occurrence(
                "escalation.raised",
                f"escalation:{about}:{event.reason}",
                event.occurred_at,
                conversation_id=event.conversation_id,
                message_id=event.message_id,
                facts={"escalation.reason": event.reason, "escalation.urgent": event.urgent},
            )
        ]
    if isinstance(event, ConversationUpdated):
        names = event_of(event.routing_key, change=event.change, to_value=event.to_value)
        return [
            Occurrence(
                name,
                f"conversation:{event.conversation_id}",
                event.occurred_at,
                conversation_id=event.conversation_id,
            )
            for name in names
        ]
    names = event_of(event.routing_key, created=event.created)
    return [
        Occurrence(
            name,
            f"reservation:{event.reservation_id}",
            event.occurred_at,
            reservation_id=event.reservation_id,
            facts={"reservation.created": event.created},
        )
        for name in names
    ]


async def handle(event: Handled, uow: UnitOfWork, *, clock: Clock = utc_now) -> None:
    for occurrence in await occurrences(event, uow):
        await occur(uow, occurrence, now=clock())


def consumer(*, clock: Clock = utc_now) -> Consumer:
    async def handle_event(event: Handled, uow: UnitOfWork) -> None:
        await handle(event, uow, clock=clock)

    return Consumer(
        name=NAME,
        routing_keys=(
            MessageScored.routing_key,
            EscalationRequested.routing_key,
            ConversationUpdated.routing_key,
            ReservationChanged.routing_key,
        ),
        event_types=(MessageScored, EscalationRequested, ConversationUpdated, ReservationChanged),
        handle=handle_event,
    )
