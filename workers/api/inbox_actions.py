"""The staff inbox's actions: reply, take over / hand back, assign, status, priority, tags,
notes (``conversations.*``) and acknowledging a staff notification
(``notifications.acknowledge``). Each is one command (``workers.api.commands.inbox``): its
rows, a ``conversation_events`` row naming the staff member and a ``conversation.updated``
event commit together; the answer is the conversation (or message, note) as it is now.

Replies: ``Idempotency-Key`` makes a retried POST return the message the first one made (201
the first time, 200 after). A drafted auto-reply in the conversation is cancelled at once. A
reply to a resolved (or new) conversation opens it; a closed conversation is over and a reply
there is 409 (the guest's next message opens a new conversation). Text longer than the
provider takes, or a free-form WhatsApp reply more than 24 hours after the guest last wrote,
is 422 naming the rule.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Header, Response, status
from pydantic import Field, StringConstraints, model_validator

from domain.inbox import Priority, ReplyRefused, SnoozeRefused, Status, TransitionRefused, can_see
from workers.api.commands import inbox as commands
from workers.api.conversations import (
    ConversationDetail,
    MessageOut,
    NoteOut,
    Scoped,
    caller_scope,
    conversation_for,
    detail,
    message_out,
)
from workers.api.problems import Problem, conflict, invalid, not_found
from workers.api.schemas import Body, Out, Text
from workers.api.security import Context, require

log = structlog.get_logger(__name__)
router = APIRouter(tags=["inbox"])
Replying = Annotated[Scoped, Depends(conversation_for("conversations.reply", for_update=True))]
TakingOver = Annotated[Scoped, Depends(conversation_for("conversations.takeover", for_update=True))]
Assigning = Annotated[Scoped, Depends(conversation_for("conversations.assign", for_update=True))]
Acknowledging = Annotated[Context, Depends(require("notifications.acknowledge"))]
TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="A retried request with the same key creates no second message",
    ),
]


def _now() -> datetime:
    return datetime.now(UTC)


def _actor(scoped: Scoped) -> UUID | None:
    return scoped.context.principal.user_id


async def commit(context: Context) -> None:
    """Commit the action, then publish its events at once (the outbox relay sweeps any left
    unpublished), so live views hear of it without waiting for the relay."""
    uow, publisher = context.uow, context.services.publisher
    await uow.commit()
    events = list(uow.emitted)
    if publisher is None or not events:
        return
    try:
        await publisher.publish_many(events)
        await context.services.uow_factory.mark_published(
            tenant_id=uow.tenant_id, event_ids=[event.event_id for event in events]
        )
    except Exception as exc:  # committed in the outbox: the relay publishes them
        log.warning("publishing inbox events failed; left to the relay", error=repr(exc))


async def _answer(scoped: Scoped) -> ConversationDetail:
    """Commit the action and answer the conversation as it now is."""
    out = await detail(scoped)
    await commit(scoped.context)
    return out


class ReplyIn(Body):
    text: Text | None = None
    canned_response: Annotated[str | None, Field(pattern=r"^/[a-z0-9_-]+$")] = None

    @model_validator(mode="after")
    def _one_source(self) -> ReplyIn:
        if (self.text is None) == (self.canned_response is None):
            raise ValueError("give either text or canned_response")
        return self


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    response_model=MessageOut,
)
async def reply(
    body: ReplyIn, scoped: Replying, response: Response, idempotency_key: IdempotencyKey = None
) -> MessageOut:
    """Reply to the guest: a staff message the dispatcher sends at once."""
    uow = scoped.context.uow
    text = body.text or await commands.render_canned(
        uow, scoped.conversation, body.canned_response or ""
    )
    try:
        made = await commands.reply(
            uow,
            conversation=scoped.conversation,
            text=text,
            actor_user_id=_actor(scoped),
            now=_now(),
            idempotency_key=idempotency_key,
        )
    except ReplyRefused as exc:
        raise _refused(exc) from None
    out = message_out(made.message)
    if made.created:
        await commit(scoped.context)
    else:
        response.status_code = status.HTTP_200_OK
    return out


def _refused(exc: ReplyRefused) -> Problem:
    if exc.status == 409:
        return conflict(str(exc), rule=exc.rule)
    problem = invalid(exc.field, str(exc))
    problem.extensions["rule"] = exc.rule
    return problem


@router.post("/conversations/{conversation_id}/takeover", response_model=ConversationDetail)
async def take_over(scoped: TakingOver) -> ConversationDetail:
    """Take the conversation from the assistant: it stops answering, drafted replies are
    cancelled, and the taker is the assignee when there was none."""
    await commands.take_over(
        scoped.context.uow,
        conversation=scoped.conversation,
        taken=True,
        actor_user_id=_actor(scoped),
    )
    return await _answer(scoped)


@router.post("/conversations/{conversation_id}/handback", response_model=ConversationDetail)
async def hand_back(scoped: TakingOver) -> ConversationDetail:
    """Give the conversation back to the assistant."""
    await commands.take_over(
        scoped.context.uow,
        conversation=scoped.conversation,
        taken=False,
        actor_user_id=_actor(scoped),
    )
    return await _answer(scoped)


class AssignmentIn(Body):
    """``assignee_id`` and/or ``team_id``; null unassigns, a field left out stays as it is."""

    assignee_id: UUID | None = None
    team_id: UUID | None = None

    @model_validator(mode="after")
    def _something(self) -> AssignmentIn:
        if not self.model_fields_set:
            raise ValueError("give assignee_id and/or team_id")
        return self


@router.put("/conversations/{conversation_id}/assignment", response_model=ConversationDetail)
async def assign(body: AssignmentIn, scoped: Assigning) -> ConversationDetail:
    """Assign the conversation to a staff member of the tenant who may reply (and is in its
    team, when it has one) and/or a team; the router never changes a person's choice."""
    given = body.model_fields_set
    conversation = scoped.conversation
    await commands.assign(
        scoped.context.uow,
        conversation=conversation,
        assignee_id=body.assignee_id if "assignee_id" in given else conversation.assignee_id,
        team_id=body.team_id if "team_id" in given else conversation.team_id,
        actor_user_id=_actor(scoped),
        team_members_only=True,
    )
    return await _answer(scoped)


class StatusIn(Body):
    status: Status
    snoozed_until: datetime | None = None


@router.put("/conversations/{conversation_id}/status", response_model=ConversationDetail)
async def set_status(body: StatusIn, scoped: Replying) -> ConversationDetail:
    """open, pending, snoozed (until ``snoozed_until``), resolved, closed; a change the
    lifecycle forbids is 409 with the current status."""
    if body.snoozed_until is not None and body.snoozed_until.tzinfo is None:
        raise invalid("snoozed_until", "give a time zone (e.g. Z)")
    try:
        await commands.set_status(
            scoped.context.uow,
            conversation=scoped.conversation,
            status=body.status,
            snoozed_until=body.snoozed_until,
            actor_user_id=_actor(scoped),
            now=_now(),
        )
    except TransitionRefused as exc:
        raise conflict(str(exc), current_status=exc.current) from None
    except SnoozeRefused as exc:
        raise invalid("snoozed_until", str(exc)) from None
    return await _answer(scoped)


class PriorityIn(Body):
    priority: Priority


@router.put("/conversations/{conversation_id}/priority", response_model=ConversationDetail)
async def set_priority(body: PriorityIn, scoped: Replying) -> ConversationDetail:
    await commands.set_priority(
        scoped.context.uow,
        conversation=scoped.conversation,
        priority=body.priority,
        actor_user_id=_actor(scoped),
    )
    return await _answer(scoped)


class TagIn(Body):
    name: TagName


@router.post("/conversations/{conversation_id}/tags", response_model=ConversationDetail)
async def add_tag(body: TagIn, scoped: Replying) -> ConversationDetail:
    """Tag the conversation; a tag is created for the tenant on first use."""
    await commands.tag(
        scoped.context.uow,
        conversation=scoped.conversation,
        name=body.name,
        add=True,
        actor_user_id=_actor(scoped),
    )
    return await _answer(scoped)


@router.delete("/conversations/{conversation_id}/tags/{tag}", response_model=ConversationDetail)
async def remove_tag(tag: str, scoped: Replying) -> ConversationDetail:
    await commands.tag(
        scoped.context.uow,
        conversation=scoped.conversation,
        name=tag.strip(),
        add=False,
        actor_user_id=_actor(scoped),
    )
    return await _answer(scoped)


class NoteIn(Body):
    body: Text


@router.post(
    "/conversations/{conversation_id}/notes",
    status_code=status.HTTP_201_CREATED,
    response_model=NoteOut,
)
async def add_note(body: NoteIn, scoped: Replying) -> NoteOut:
    """An internal note for staff; never sent to the guest."""
    row = await commands.note(
        scoped.context.uow,
        conversation=scoped.conversation,
        body=body.body,
        actor_user_id=_actor(scoped),
    )
    out = NoteOut.model_validate(row)
    await commit(scoped.context)
    return out


class AcknowledgementOut(Out):
    id: UUID
    conversation_id: UUID
    type: str
    status: str
    acknowledged_at: datetime | None
    acknowledged_by: UUID | None


@router.post("/notifications/{notification_id}/acknowledge", response_model=AcknowledgementOut)
async def acknowledge(notification_id: UUID, context: Acknowledging) -> AcknowledgementOut:
    """Stop a staff notification's re-alerts; ``acknowledged_by`` is the caller. A second
    acknowledgement changes nothing and answers who acknowledged first."""
    uow = context.uow
    notification = await uow.notifications.get(notification_id=notification_id, for_update=True)
    conversation = (
        await uow.conversations.get(conversation_id=notification.conversation_id)
        if notification
        else None
    )
    if (
        notification is None
        or conversation is None
        or not can_see(
            await caller_scope(context),
            assignee_id=conversation.assignee_id,
            team_id=conversation.team_id,
        )
    ):
        raise not_found("notification")
    await commands.acknowledge(
        uow,
        conversation=conversation,
        notification=notification,
        actor_user_id=context.principal.user_id,
        now=_now(),
    )
    await uow.session.refresh(notification)
    out = AcknowledgementOut(
        id=notification.id,
        conversation_id=notification.conversation_id,
        type=notification.type,
        status=notification.status,
        acknowledged_at=notification.acknowledged_at,
        acknowledged_by=notification.acknowledged_by,
    )
    await commit(context)
    return out
