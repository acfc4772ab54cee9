"""What a guest will receive, and staff's hand on it.

- ``GET /reservations/{id}/schedule`` (``conversations.read``): every scheduled message of the
  stay with its status, reason, due time and the text as it would be rendered now.
- ``PATCH /scheduled-messages/{id}`` (``conversations.reply``): change the text or the time;
  the row is then ``edited_by_staff`` and re-planning leaves it alone.
- ``POST /scheduled-messages/{id}/cancel`` and ``…/send-now`` (``conversations.reply``).

Only a waiting (``scheduled``) row can be changed; anything else is 409. Every change writes an
audit row in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, StringConstraints

from persistence.models import ScheduledMessage
from persistence.uow import UnitOfWork
from workers.api.problems import conflict, invalid, not_found
from workers.api.schemas import Body, Out
from workers.api.security import Context, require
from workers.consumers.planner import stay_of
from workers.scheduler import rendering
from workers.scheduler.handover import choose_channel, pick_template, render_context, settle

router = APIRouter(tags=["scheduled messages"])
Read = Annotated[Context, Depends(require("conversations.read"))]
Reply = Annotated[Context, Depends(require("conversations.reply"))]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("must include a time zone offset")
    return value


def _template_text(value: str | None) -> str | None:
    if value is not None:
        rendering.check_template(value)
    return value


class ScheduledEdit(Body):
    text: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, min_length=1, max_length=4096),
            AfterValidator(_template_text),
        ]
        | None
    ) = None
    due_at: Annotated[datetime | None, AfterValidator(_aware)] = None


class ScheduledOut(Out):
    id: UUID
    reservation_id: UUID
    rule_key: str
    status: str
    due_at: datetime
    reason: str | None
    edited_by_staff: bool
    channel: str | None
    text: str | None
    message_id: UUID | None


async def scheduled_view(uow: UnitOfWork, row: ScheduledMessage) -> ScheduledOut:
    """The row with the text the guest would get now (None when it cannot be made)."""
    channel, text = None, None
    record = await uow.schedule.stay(reservation_id=row.reservation_id)
    if record is not None:
        chosen = await choose_channel(uow, record)
        channel = chosen[0].provider if chosen else None
        if row.message_id is not None:
            message = await uow.messages.get(message_id=row.message_id)
            text = message.content if message else None
        else:
            template = pick_template(
                await uow.schedule.templates_for(rule_key=row.rule_key),
                provider=channel or "",
                language=record.guest.language,
                planned=row.template_id,
            )
            body = row.custom_body or (template.body if template else None)
            if body is not None:
                try:
                    text = rendering.render(body, render_context(record))
                except rendering.TemplateFieldError:
                    text = None
    return ScheduledOut(
        id=row.id,
        reservation_id=row.reservation_id,
        rule_key=row.rule_key,
        status=row.status,
        due_at=row.due_at,
        reason=row.reason,
        edited_by_staff=row.edited_by_staff,
        channel=channel,
        text=text,
        message_id=row.message_id,
    )


async def _waiting(context: Context, scheduled_message_id: UUID) -> ScheduledMessage:
    row = await context.uow.schedule.get(scheduled_id=scheduled_message_id, for_update=True)
    if row is None:
        raise not_found("scheduled message")
    if row.status != "scheduled":
        raise conflict(f"the message is {row.status}, not waiting", current_status=row.status)
    return row


async def _audit(context: Context, row: ScheduledMessage, action: str, old: dict[str, Any]) -> None:
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="scheduled_message",
        resource_id=row.id,
        action=action,
        old=old,
        new={"status": row.status, "due_at": row.due_at.isoformat(), "text": row.custom_body},
    )


def _before(row: ScheduledMessage) -> dict[str, Any]:
    return {"status": row.status, "due_at": row.due_at.isoformat(), "text": row.custom_body}


@router.get("/reservations/{reservation_id}/schedule", response_model=list[ScheduledOut])
async def get_schedule(reservation_id: UUID, context: Read) -> list[ScheduledOut]:
    """What this guest will receive and when, rendered as it stands now."""
    if await context.uow.reservations.get(reservation_id=reservation_id) is None:
        raise not_found("reservation")
    rows = await context.uow.schedule.list_for(reservation_id=reservation_id)
    return [await scheduled_view(context.uow, row) for row in rows]


@router.patch("/scheduled-messages/{scheduled_message_id}", response_model=ScheduledOut)
async def edit_scheduled(
    scheduled_message_id: UUID, body: ScheduledEdit, context: Reply
) -> ScheduledOut:
    """Change the text (a template over the same fields) or the time of a waiting message."""
    row = await _waiting(context, scheduled_message_id)
    old = _before(row)
    if body.due_at is not None:
        record = await context.uow.schedule.stay(reservation_id=row.reservation_id)
        assert record is not None
        if body.due_at >= stay_of(record).departure:
            raise invalid("due_at", "must be before check-out")
        row.due_at = body.due_at
    if body.text is not None:
        row.custom_body = body.text
    if body.text is not None or body.due_at is not None:
        row.edited_by_staff = True
        row.edited_by = context.principal.user_id
        await _audit(context, row, "update", old)
    out = await scheduled_view(context.uow, row)
    await context.uow.commit()
    return out


@router.post("/scheduled-messages/{scheduled_message_id}/cancel", response_model=ScheduledOut)
async def cancel_scheduled(scheduled_message_id: UUID, context: Reply) -> ScheduledOut:
    row = await _waiting(context, scheduled_message_id)
    old = _before(row)
    row.status, row.reason = "cancelled", f"cancelled by {context.principal.label}"
    row.handled_at = datetime.now(UTC)
    row.edited_by_staff, row.edited_by = True, context.principal.user_id
    await _audit(context, row, "cancel", old)
    out = await scheduled_view(context.uow, row)
    await context.uow.commit()
    return out


@router.post("/scheduled-messages/{scheduled_message_id}/send-now", response_model=ScheduledOut)
async def send_now(scheduled_message_id: UUID, context: Reply) -> ScheduledOut:
    """Hand the message to the dispatcher now (quiet hours are staff's call here)."""
    found = await context.uow.schedule.get(scheduled_id=scheduled_message_id)
    if found is None:
        raise not_found("scheduled message")
    row = await context.uow.schedule.claim_due(scheduled_id=scheduled_message_id, now=None)
    if row is None:
        raise conflict(f"the message is {found.status} or being sent", current_status=found.status)
    old = _before(row)
    await settle(context.uow, row, now=datetime.now(UTC), hold_for_quiet_hours=False)
    row.edited_by_staff, row.edited_by = True, context.principal.user_id
    await _audit(context, row, "send_now", old)
    out = await scheduled_view(context.uow, row)
    await context.uow.commit()
    return out
