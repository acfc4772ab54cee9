"""escalation: turn an escalation request into a staff notification, and record acknowledgements.

The notification is due at once when urgent (an emergency is never held) and otherwise when the
tenant's quiet hours end; the dispatcher sends it and re-alerts on a ladder until a staff member
acknowledges it (the signed link, the inbox, or replying to the guest / resolving from the inbox).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from domain.events import ConversationUpdated, EscalationRequested, NotificationAcknowledged
from domain.quiet_hours import quiet_hours_end
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError

NAME = "escalation"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def request(event: EscalationRequested, uow: UnitOfWork, *, now: datetime) -> None:
    conversation = await uow.conversations.escalation_input(conversation_id=event.conversation_id)
    if conversation is None:
        raise PermanentError(f"conversation {event.conversation_id} does not exist")
    due_at = now
    start, end = conversation.quiet_hours_start, conversation.quiet_hours_end
    if not event.urgent and start and end:
        due_at = quiet_hours_end(now, start, end, conversation.timezone or "UTC")
    await uow.notifications.add(
        conversation_id=conversation.conversation_id,
        message_id=event.message_id,
        type=event.reason,
        urgent=event.urgent,
        detail=event.detail,
        next_alert_at=due_at,
    )
    if event.reason != "guest_message":  # a guest writing to staff is no escalation
        await uow.conversations.raise_priority(
            conversation_id=conversation.conversation_id,
            priority="urgent" if event.urgent else "high",
        )


async def acknowledge(event: NotificationAcknowledged, uow: UnitOfWork, *, now: datetime) -> None:
    await uow.notifications.acknowledge(
        notification_id=event.notification_id,
        at=now,
        acknowledged_by=event.acknowledged_by,
        target_id=event.target_id,
    )


async def staff_acted(event: ConversationUpdated, uow: UnitOfWork, *, now: datetime) -> None:
    """A staff reply, or the conversation resolved or closed, means staff are on it: its open
    notifications are acknowledged by that staff member and their re-alerts stop."""
    if event.change == "reply" or (
        event.change == "status" and event.to_value in ("resolved", "closed")
    ):
        await uow.staff_inbox.acknowledge_open(
            conversation_id=event.conversation_id, by=event.actor_user_id, at=now
        )


def consumer(*, clock: Clock = utc_now) -> Consumer:
    async def handle(
        event: EscalationRequested | NotificationAcknowledged | ConversationUpdated,
        uow: UnitOfWork,
    ) -> None:
        if isinstance(event, EscalationRequested):
            await request(event, uow, now=clock())
        elif isinstance(event, ConversationUpdated):
            await staff_acted(event, uow, now=clock())
        else:
            await acknowledge(event, uow, now=clock())

    return Consumer(
        name=NAME,
        routing_keys=(
            EscalationRequested.routing_key,
            NotificationAcknowledged.routing_key,
            ConversationUpdated.routing_key,
        ),
        event_types=(EscalationRequested, NotificationAcknowledged, ConversationUpdated),
        handle=handle,
    )
