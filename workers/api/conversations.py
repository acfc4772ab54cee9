"""The staff inbox, read side (``conversations.read``): conversations filtered and paged, one
conversation in full, its messages oldest first, its notes and its audit trail.

Each caller sees the conversations of their scope only (``domain.inbox``): an agent those
assigned to them and the unassigned ones of their teams, a team lead their teams', supervisors
and admins all. A conversation outside the scope is 404, like another tenant's.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from domain.inbox import Priority, Scope, Status, can_see, scope_for
from persistence.models import Conversation, ConversationEvent, ConversationNote, Message
from persistence.repositories.inbox import ConversationFilter, ConversationRow
from workers.api.problems import invalid, not_found
from workers.api.schemas import Out
from workers.api.security import Context, require
from workers.api.sla_detail import SlaOut, sla_of

router = APIRouter(prefix="/conversations", tags=["inbox"])
Read = Annotated[Context, Depends(require("conversations.read"))]
PageSize = Annotated[int, Query(ge=1, le=200, description="Items per page")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


async def caller_scope(context: Context) -> Scope:
    principal = context.principal
    teams = (
        await context.uow.staff_inbox.team_ids(user_id=principal.user_id)
        if principal.user_id is not None
        else []
    )
    return scope_for(roles=principal.roles, user_id=principal.user_id, team_ids=teams)


@dataclass(frozen=True, slots=True)
class Scoped:
    """A conversation the caller may see, with the caller's context."""

    context: Context
    conversation: Conversation


def conversation_for(
    permission: str, *, for_update: bool = False
) -> Callable[..., AsyncIterator[Scoped]]:
    """A dependency loading ``{conversation_id}`` for a caller holding ``permission`` (locked
    for the transaction when it is to be changed); 404 outside the caller's scope."""
    guard = require(permission)

    async def load(
        conversation_id: UUID, context: Context = Depends(guard)
    ) -> AsyncIterator[Scoped]:
        row = await context.uow.conversations.get(
            conversation_id=conversation_id, for_update=for_update
        )
        if row is None or not can_see(
            await caller_scope(context), assignee_id=row.assignee_id, team_id=row.team_id
        ):
            raise not_found("conversation")
        yield Scoped(context=context, conversation=row)

    return load


Readable = Annotated[Scoped, Depends(conversation_for("conversations.read"))]


def encode_cursor(after: tuple[datetime, UUID] | None) -> str | None:
    if after is None:
        return None
    raw = json.dumps([after[0].isoformat(), str(after[1])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        stamp, row_id = json.loads(raw)
        return datetime.fromisoformat(stamp), UUID(row_id)
    except (ValueError, TypeError, binascii.Error):
        raise invalid("cursor", "not a cursor this API returned", location="query") from None


class GuestRef(BaseModel):
    id: UUID
    name: str | None


class ChannelRef(BaseModel):
    id: UUID
    provider: str
    name: str


class ConversationSummary(BaseModel):
    id: UUID
    status: str
    priority: str
    guest: GuestRef
    channel: ChannelRef
    property_id: UUID
    assignee_id: UUID | None
    team_id: UUID | None
    human_takeover: bool
    requires_attention: bool
    tags: list[str]
    snoozed_until: datetime | None
    last_message_at: datetime | None
    created_at: datetime
    updated_at: datetime


class ConversationPageOut(BaseModel):
    items: list[ConversationSummary]
    total: int
    next_cursor: str | None


def _summary(row: ConversationRow) -> ConversationSummary:
    c = row.conversation
    return ConversationSummary(
        id=c.id,
        status=c.status,
        priority=c.priority,
        guest=GuestRef(id=c.guest_id, name=row.guest_name),
        channel=ChannelRef(id=c.channel_id, provider=row.channel_provider, name=row.channel_name),
        property_id=row.property_id,
        assignee_id=c.assignee_id,
        team_id=c.team_id,
        human_takeover=c.human_takeover,
        requires_attention=row.requires_attention,
        tags=row.tags,
        snoozed_until=c.snoozed_until,
        last_message_at=c.last_message_at,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


@router.get("", response_model=ConversationPageOut)
async def list_conversations(
    context: Read,
    status: Annotated[list[Status] | None, Query()] = None,
    priority: Annotated[list[Priority] | None, Query()] = None,
    assignee: Annotated[str | None, Query(description="'me', 'none' or a staff user's id")] = None,
    team_id: UUID | None = None,
    channel_id: UUID | None = None,
    property_id: UUID | None = None,
    requires_attention: bool | None = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    updated_since: datetime | None = None,
    q: Annotated[
        str | None, Query(min_length=2, max_length=200, description="Text in a message")
    ] = None,
    limit: PageSize = 50,
    cursor: Cursor = None,
) -> ConversationPageOut:
    """The conversations the caller may see, latest message first, with the total count."""
    assignee_id, unassigned = _assignee(assignee, context)
    wanted = ConversationFilter(
        statuses=status or (),
        priorities=priority or (),
        team_id=team_id,
        channel_id=channel_id,
        property_id=property_id,
        requires_attention=requires_attention,
        tag=tag.strip() if tag else None,
        updated_since=updated_since,
        text=q,
        assignee_id=assignee_id,
        unassigned=unassigned,
    )
    if updated_since is not None and updated_since.tzinfo is None:
        raise invalid("updated_since", "give a time zone (e.g. Z)", location="query")
    page = await context.uow.staff_inbox.list_conversations(
        scope=await caller_scope(context),
        wanted=wanted,
        limit=limit,
        after=decode_cursor(cursor),
    )
    return ConversationPageOut(
        items=[_summary(row) for row in page.rows],
        total=page.total,
        next_cursor=encode_cursor(page.next_after),
    )


def _assignee(value: str | None, context: Context) -> tuple[UUID | None, bool]:
    """``assignee`` as (a user id, or unassigned only)."""
    if value is None:
        return None, False
    if value == "none":
        return None, True
    if value == "me":
        if context.principal.user_id is None:
            raise invalid("assignee", "'me' needs a staff member's token", location="query")
        return context.principal.user_id, False
    try:
        return UUID(value), False
    except ValueError:
        raise invalid("assignee", "'me', 'none' or a user id", location="query") from None


class GuestOut(Out):
    id: UUID
    full_name: str | None
    phone: str | None
    email: str | None
    language: str | None


class ReservationOut(Out):
    id: UUID
    external_ref: str | None
    property_id: UUID
    check_in: date
    check_out: date
    room_number: str | None
    status: str


class Named(BaseModel):
    id: UUID
    name: str | None


class ConversationDetail(BaseModel):
    id: UUID
    status: str
    priority: str
    subject: str | None
    guest: GuestOut | None
    channel: ChannelRef | None
    property_id: UUID | None
    reservation: ReservationOut | None
    tags: list[str]
    assignee: Named | None
    team: Named | None
    human_takeover: bool
    requires_attention: bool
    snoozed_until: datetime | None
    first_message_at: datetime | None
    first_response_at: datetime | None
    last_message_at: datetime | None
    assigned_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    # The SLA deadlines, when a policy applies.
    sla: SlaOut | None = None


async def detail(scoped: Scoped) -> ConversationDetail:
    """The conversation with its guest, channel, current stay, tags, assignee and team."""
    uow, c = scoped.context.uow, scoped.conversation
    guest = await uow.guests.get(guest_id=c.guest_id)
    channel = await uow.channels.get(channel_id=c.channel_id)
    reservation_id = c.reservation_id or await uow.reservations.current_via_channel(
        guest_id=c.guest_id, channel_id=c.channel_id, on=datetime.now(UTC).date()
    )
    stay = await uow.reservations.get(reservation_id=reservation_id) if reservation_id else None
    assignee_name, team_name = await uow.staff_inbox.names(user_id=c.assignee_id, team_id=c.team_id)
    tags = await uow.staff_inbox.tags_of(conversation_ids=[c.id])
    return ConversationDetail(
        id=c.id,
        status=c.status,
        priority=c.priority,
        subject=c.subject,
        guest=GuestOut.model_validate(guest) if guest else None,
        channel=ChannelRef(id=channel.id, provider=channel.provider, name=channel.name)
        if channel
        else None,
        property_id=channel.property_id if channel else None,
        reservation=ReservationOut.model_validate(stay) if stay else None,
        tags=tags.get(c.id, []),
        assignee=Named(id=c.assignee_id, name=assignee_name) if c.assignee_id else None,
        team=Named(id=c.team_id, name=team_name) if c.team_id else None,
        human_takeover=c.human_takeover,
        requires_attention=await uow.staff_inbox.requires_attention(conversation_id=c.id),
        snoozed_until=c.snoozed_until,
        first_message_at=c.first_message_at,
        first_response_at=c.first_response_at,
        last_message_at=c.last_message_at,
        assigned_at=c.assigned_at,
        closed_at=c.closed_at,
        created_at=c.created_at,
        updated_at=c.updated_at,
        sla=await sla_of(uow, c),
    )


@router.get("/{conversation_id}", response_model=ConversationDetail)
async def get_conversation(scoped: Readable) -> ConversationDetail:
    return await detail(scoped)


class Sentiment(BaseModel):
    score: float
    label: str | None


class Decision(BaseModel):
    decision: str
    reason: str | None
    decided_at: datetime | None


class MessageOut(BaseModel):
    id: UUID
    direction: str
    sender_type: str
    sender_user_id: UUID | None
    content_type: str
    content: str | None
    status: str
    error: str | None
    sentiment: Sentiment | None
    requires_attention: bool
    decision: Decision | None
    in_reply_to_id: UUID | None
    send_after: datetime | None
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None
    created_at: datetime


def message_out(row: Message) -> MessageOut:
    return MessageOut(
        id=row.id,
        direction=row.direction,
        sender_type=row.sender_type,
        sender_user_id=row.sender_user_id,
        content_type=row.content_type,
        content=row.content,
        status=row.status,
        error=row.error,
        sentiment=Sentiment(score=float(row.sentiment_score), label=row.sentiment_label)
        if row.sentiment_score is not None
        else None,
        requires_attention=row.requires_attention,
        decision=Decision(
            decision=row.ai_decision, reason=row.ai_decision_reason, decided_at=row.ai_decided_at
        )
        if row.ai_decision
        else None,
        in_reply_to_id=row.in_reply_to_id,
        send_after=row.send_after,
        sent_at=row.sent_at,
        delivered_at=row.delivered_at,
        read_at=row.read_at,
        created_at=row.created_at,
    )


class MessagePageOut(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


@router.get("/{conversation_id}/messages", response_model=MessagePageOut)
async def list_messages(
    scoped: Readable, limit: PageSize = 100, cursor: Cursor = None
) -> MessagePageOut:
    """The conversation's messages, oldest to newest: direction, sender, delivery status,
    sentiment, and what the assistant decided with its reason."""
    rows, after = await scoped.context.uow.staff_inbox.list_messages(
        conversation_id=scoped.conversation.id, limit=limit, after=decode_cursor(cursor)
    )
    return MessagePageOut(
        items=[message_out(row) for row in rows], next_cursor=encode_cursor(after)
    )


class NoteOut(Out):
    id: UUID
    author_id: UUID | None
    body: str
    created_at: datetime


@router.get("/{conversation_id}/notes", response_model=list[NoteOut])
async def list_notes(scoped: Readable) -> list[NoteOut]:
    """Internal notes, oldest first (never sent to the guest)."""
    rows: list[ConversationNote] = await scoped.context.uow.staff_inbox.list_notes(
        conversation_id=scoped.conversation.id
    )
    return [NoteOut.model_validate(row) for row in rows]


class EventOut(Out):
    kind: str
    actor_type: str
    actor_user_id: UUID | None
    from_value: str | None
    to_value: str | None
    created_at: datetime


@router.get("/{conversation_id}/events", response_model=list[EventOut])
async def list_events(scoped: Readable) -> list[EventOut]:
    """The conversation's audit trail: who changed what, when."""
    rows: list[ConversationEvent] = await scoped.context.uow.conversations.list_events(
        conversation_id=scoped.conversation.id
    )
    return [EventOut.model_validate(row) for row in rows]
