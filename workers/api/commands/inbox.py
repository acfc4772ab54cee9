"""The staff inbox's commands: each writes its rows, one ``conversation_events`` row naming the
staff member and one ``conversation.updated`` event in the caller's unit of work (the caller
commits, so they land together or not at all)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from domain.events import ConversationUpdated
from domain.inbox import check_reply, check_transition
from persistence.models import Conversation, ConversationNote, Message, StaffNotification
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError
from workers.scheduler.rendering import FIELDS, TemplateFieldError, context, render

CANCELLED_BY_STAFF = "staff replied first"
CANCELLED_BY_TAKEOVER = "conversation taken over by staff"


class IdempotencyKeyReused(CommandError):
    field = "Idempotency-Key"
    status = 409


class UnknownReference(CommandError):
    """A body names something the tenant does not have (a user, a team, a canned response)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Reply:
    message: Message
    created: bool  # False: the Idempotency-Key found the message a first request made


def _changed(
    uow: UnitOfWork,
    conversation: Conversation,
    change: str,
    actor_user_id: UUID | None,
    *,
    from_value: str | None = None,
    to_value: str | None = None,
    message_id: UUID | None = None,
    notification_id: UUID | None = None,
) -> None:
    uow.emit(
        ConversationUpdated(
            tenant_id=uow.tenant_id,
            conversation_id=conversation.id,
            change=change,
            actor_user_id=actor_user_id,
            from_value=from_value,
            to_value=to_value,
            message_id=message_id,
            notification_id=notification_id,
        )
    )


async def render_canned(uow: UnitOfWork, conversation: Conversation, shortcut: str) -> str:
    """A canned response's text for this conversation's guest and property."""
    canned = await uow.staff_inbox.canned_response(shortcut=shortcut)
    if canned is None:
        raise UnknownReference("canned_response", f"no canned response {shortcut!r}")
    guest = await uow.guests.get(guest_id=conversation.guest_id)
    channel = await uow.channels.get(channel_id=conversation.channel_id)
    place = await uow.properties.get(property_id=channel.property_id) if channel else None
    guest_values = {name: getattr(guest, name, None) for name in FIELDS["guest"]}
    place_values = {name: getattr(place, name, None) for name in FIELDS["property"]}
    values = context(guest=guest_values, reservation={}, place=place_values, settings={})
    try:
        return render(canned.body, values)
    except TemplateFieldError as exc:
        raise UnknownReference("canned_response", str(exc)) from None


async def reply(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    text: str,
    actor_user_id: UUID | None,
    now: datetime,
    idempotency_key: str | None = None,
) -> Reply:
    """Queue a staff message for the dispatcher (due now) and cancel the drafted auto-replies.

    With an ``idempotency_key``, a second request finds the first one's message (a key reused
    for another conversation or text is refused)."""
    if idempotency_key is not None:
        await uow.staff_inbox.lock_key(key=idempotency_key)
        earlier = await uow.staff_inbox.find_by_idempotency_key(key=idempotency_key)
        if earlier is not None:
            if earlier.conversation_id != conversation.id or earlier.content != text:
                raise IdempotencyKeyReused(
                    "this Idempotency-Key was used for another reply; use a new key"
                )
            return Reply(message=earlier, created=False)
    channel = await uow.channels.get(channel_id=conversation.channel_id)
    provider = channel.provider if channel else ""
    reopened = check_reply(
        provider=provider,
        text=text,
        conversation_status=conversation.status,
        last_inbound_at=await uow.staff_inbox.last_inbound_at(conversation_id=conversation.id),
        now=now,
    )
    if reopened is not None:
        await set_status(
            uow, conversation=conversation, status=reopened, actor_user_id=actor_user_id, now=now
        )
    await uow.staff_inbox.cancel_bot_drafts(
        conversation_id=conversation.id, reason=CANCELLED_BY_STAFF
    )
    draft = await uow.outbound.draft(
        conversation_id=conversation.id,
        channel_id=conversation.channel_id,
        content=text,
        send_after=now,
        sender_type="staff",
        sender_user_id=actor_user_id,
        idempotency_key=idempotency_key,
    )
    await uow.service_levels.responded(conversation_id=conversation.id, by_bot=False)
    uow.staff_inbox.record(conversation.id, "reply", None, str(draft.id), actor_user_id)
    await uow.session.flush()
    _changed(uow, conversation, "reply", actor_user_id, message_id=draft.id)
    # The API answers with the message as stored (its row, as the inbox's list shows it).
    message = await uow.session.get(Message, draft.id)
    assert message is not None
    return Reply(message=message, created=True)


async def take_over(
    uow: UnitOfWork, *, conversation: Conversation, taken: bool, actor_user_id: UUID | None
) -> bool:
    """Staff take the conversation from the assistant (its drafts are cancelled, and the taker
    becomes the assignee when there is none) or hand it back; False if nothing changes."""
    if conversation.human_takeover == taken:
        return False
    await uow.conversations.set_takeover(
        conversation_id=conversation.id, human_takeover=taken, actor_user_id=actor_user_id
    )
    if taken:
        await uow.staff_inbox.cancel_bot_drafts(
            conversation_id=conversation.id, reason=CANCELLED_BY_TAKEOVER
        )
        if conversation.assignee_id is None and actor_user_id is not None:
            await assign(
                uow,
                conversation=conversation,
                assignee_id=actor_user_id,
                team_id=conversation.team_id,
                actor_user_id=actor_user_id,
            )
    _changed(
        uow,
        conversation,
        "takeover",
        actor_user_id,
        from_value=str(not taken).lower(),
        to_value=str(taken).lower(),
    )
    return True


async def assign(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    assignee_id: UUID | None,
    team_id: UUID | None,
    actor_user_id: UUID | None,
    team_members_only: bool = False,
) -> bool:
    """Assign to a staff member who may reply, and/or a team; False if nothing changes.

    A person's choice: the router never changes it, and the conversation leaves the routing
    queue (unassigned by a person, it waits for a new reason to need one). With
    ``team_members_only`` the assignee must be in the team."""
    if assignee_id is not None:
        user = await uow.staff.get(user_id=assignee_id)
        if user is None or user.deleted_at is not None or not user.active:
            raise UnknownReference("assignee_id", "no active staff member with this id")
        if "conversations.reply" not in await uow.access.permissions(user_id=assignee_id):
            raise UnknownReference(
                "assignee_id", "this staff member cannot reply to guests (conversations.reply)"
            )
    if team_id is not None and await uow.staff_inbox.team(team_id=team_id) is None:
        raise UnknownReference("team_id", "no team with this id")
    if (conversation.assignee_id, conversation.team_id) == (assignee_id, team_id):
        return False
    if (
        team_members_only
        and assignee_id is not None
        and team_id is not None
        and await uow.configuration.membership(team_id=team_id, user_id=assignee_id) is None
    ):
        raise UnknownReference("assignee_id", "this staff member is not in the conversation's team")
    previous_team = conversation.team_id
    previous = conversation.assignee_id
    await uow.conversations.assign(
        conversation_id=conversation.id,
        assignee_id=assignee_id,
        team_id=team_id,
        actor_user_id=actor_user_id,
    )
    conversation.assignment_manual = assignee_id is not None
    conversation.routing_requested_at = None
    conversation.routing_topic = None
    await uow.session.flush()
    if previous_team != team_id:
        uow.staff_inbox.record(
            conversation.id,
            "team",
            str(previous_team) if previous_team else None,
            str(team_id) if team_id else None,
            actor_user_id,
        )
        # A policy for the team may apply now (when none did).
        await uow.service_levels.reconsider(conversation_id=conversation.id, now=datetime.now(UTC))
    _changed(
        uow,
        conversation,
        "assignment",
        actor_user_id,
        from_value=str(previous) if previous else None,
        to_value=str(assignee_id) if assignee_id else None,
    )
    return True


async def set_status(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    status: str,
    actor_user_id: UUID | None,
    now: datetime,
    snoozed_until: datetime | None = None,
) -> bool:
    """Move the conversation through its lifecycle (``domain.inbox.TRANSITIONS``)."""
    previous = conversation.status
    if not check_transition(previous, status, snoozed_until=snoozed_until, now=now):
        return False
    await uow.conversations.set_status(
        conversation_id=conversation.id,
        status=status,
        actor_type="staff" if actor_user_id else "system",
        actor_user_id=actor_user_id,
    )
    conversation.snoozed_until = snoozed_until
    if status not in ("resolved", "closed"):
        conversation.closed_at = None
    await uow.session.flush()
    await uow.service_levels.status_changed(conversation_id=conversation.id, now=now)
    _changed(uow, conversation, "status", actor_user_id, from_value=previous, to_value=status)
    return True


async def set_priority(
    uow: UnitOfWork, *, conversation: Conversation, priority: str, actor_user_id: UUID | None
) -> bool:
    previous = conversation.priority
    if previous == priority:
        return False
    await uow.staff_inbox.set_priority(
        conversation=conversation, priority=priority, actor_user_id=actor_user_id
    )
    await uow.service_levels.reconsider(conversation_id=conversation.id, now=datetime.now(UTC))
    _changed(uow, conversation, "priority", actor_user_id, from_value=previous, to_value=priority)
    return True


async def tag(
    uow: UnitOfWork, *, conversation: Conversation, name: str, add: bool, actor_user_id: UUID | None
) -> bool:
    """Add (the tag is made on first use) or remove a tag; False if nothing changes."""
    if add:
        changed = await uow.staff_inbox.add_tag(conversation_id=conversation.id, name=name)
    else:
        changed = await uow.staff_inbox.remove_tag(conversation_id=conversation.id, name=name)
    if changed:
        before, after = (None, name) if add else (name, None)
        uow.staff_inbox.record(conversation.id, "tag", before, after, actor_user_id)
        await uow.session.flush()
        _changed(uow, conversation, "tag", actor_user_id, from_value=before, to_value=after)
    return changed


async def note(
    uow: UnitOfWork, *, conversation: Conversation, body: str, actor_user_id: UUID | None
) -> ConversationNote:
    """An internal note: stored for staff, never sent to the guest."""
    row = await uow.staff_inbox.add_note(
        conversation_id=conversation.id, author_id=actor_user_id, body=body
    )
    uow.staff_inbox.record(conversation.id, "note", None, str(row.id), actor_user_id)
    await uow.session.flush()
    _changed(uow, conversation, "note", actor_user_id, to_value=str(row.id))
    return row


async def acknowledge(
    uow: UnitOfWork,
    *,
    conversation: Conversation,
    notification: StaffNotification,
    actor_user_id: UUID | None,
    now: datetime,
) -> bool:
    """Stop a notification's re-alerts, recording who; False if it was acknowledged before."""
    if not await uow.notifications.acknowledge(
        notification_id=notification.id, at=now, acknowledged_by=actor_user_id
    ):
        return False
    uow.staff_inbox.record(
        conversation.id, "acknowledged", notification.type, str(notification.id), actor_user_id
    )
    await uow.session.flush()
    _changed(uow, conversation, "acknowledged", actor_user_id, notification_id=notification.id)
    return True
