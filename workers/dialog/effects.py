"""What a dialogue turn does besides moving the dialogue: the bot's reply, the booking it
records, the staff it tells, and the decision written on the guest's message."""

from __future__ import annotations

from datetime import datetime

from domain.events import EscalationRequested, ReservationChanged
from domain.flows import Book, HandOff, Say, Turn
from domain.flows.render import numbered
from persistence.repositories.flows import Place, TableBooking
from persistence.repositories.inbound import ReplyInput
from persistence.uow import UnitOfWork


async def send(
    uow: UnitOfWork, message: ReplyInput, replies: list[Say], provider: str, now: datetime
) -> None:
    """One outbound message for the turn, so its parts reach the guest in order."""
    if not replies:
        return
    # Options are numbered in the text on every channel; Telegram and WhatsApp Cloud also
    # show them as buttons (the dispatcher hands them to the sender).
    parts = [reply.text for reply in replies[:-1]] + [numbered(replies[-1])]
    await uow.outbound.draft(
        conversation_id=message.conversation_id,
        channel_id=message.channel_id,
        content="\n\n".join(parts),
        sender_type="bot",
        send_after=now,
        in_reply_to_id=message.message_id,
        options=[(option.value, option.label) for option in replies[-1].options],
    )


async def apply(
    uow: UnitOfWork, turn: Turn, message: ReplyInput, place: Place, *, name: str, now: datetime
) -> None:
    step = turn.steps[-1] if turn.steps else ""
    reason = f"dialog {name} step={step} {turn.detail}".strip()
    handed_off = False
    for effect in turn.effects:
        if isinstance(effect, Book):
            await _book(uow, effect, message, place, now)
        elif isinstance(effect, HandOff):
            handed_off = True
            collected = ", ".join(
                f"{key}={value}"
                for key, value in effect.variables.items()
                if value not in ("", None)
            )
            uow.emit(
                EscalationRequested(
                    tenant_id=uow.tenant_id,
                    conversation_id=message.conversation_id,
                    message_id=message.message_id,
                    reason="human_requested",
                    detail=f"{name}: {effect.reason}; collected: {collected or 'nothing'}",
                    urgent=effect.urgent,
                )
            )
            reason = f"dialog_handoff {name} step={step} {effect.reason}"
    await uow.inbound.record_decision(
        message_id=message.message_id,
        decision="escalate" if handed_off else "reply",
        reason=reason,
        at=now,
    )


async def _book(
    uow: UnitOfWork, effect: Book, message: ReplyInput, place: Place, now: datetime
) -> None:
    when = str(effect.fields.get("when", ""))
    try:
        at = datetime.strptime(when, "%Y-%m-%d %H:%M")
    except ValueError:
        at = datetime.strptime(when[:10], "%Y-%m-%d") if when[:10] else now
    size = effect.fields.get("party_size")
    booking = TableBooking(
        property_id=place.property_id,
        guest_id=place.guest_id,
        day=at.date(),
        at=at.time() if len(when) > 10 else None,
        party_size=int(size) if isinstance(size, int | float) and size > 0 else None,
        external_ref=f"table-{message.message_id}",
    )
    row = await uow.flows.add_table_booking(booking=booking, at=now)
    name = effect.fields.get("name")
    if isinstance(name, str) and name.strip() and not message.guest_name:
        await uow.flows.name_guest(guest_id=place.guest_id, name=name.strip())
    uow.emit(
        ReservationChanged(
            tenant_id=uow.tenant_id, reservation_id=row.id, status=row.status, created=True
        )
    )
