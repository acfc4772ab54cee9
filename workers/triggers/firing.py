"""A condition trigger meeting its event: decide, record the firing once, act.

An ``Occurrence`` is one event about one subject (a message, an escalation, a conversation, a
stay). For each active condition trigger listening for it, in the transaction of the event:
the trigger's conditions are read against the event's facts and what the subject's
conversation, guest and stay say now; a met trigger claims its firing (UNIQUE per trigger and
subject, so a redelivered or repeated event finds it and does nothing) and acts in the same
transaction. A trigger with ``delay_minutes`` records a ``waiting`` firing instead, which the
scheduler's sweep decides when it falls due (``workers.triggers.sweep``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog

from domain.conditions import ConditionRule, InvalidConditionsError, matches, parse
from persistence.models import Trigger, TriggerFiring
from persistence.repositories.condition_triggers import Subject
from persistence.uow import UnitOfWork
from workers.triggers.actions import act

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Occurrence:
    event: str
    subject: str
    at: datetime
    conversation_id: UUID | None = None
    reservation_id: UUID | None = None
    message_id: UUID | None = None
    # The event's own fields (``message.*``, ``escalation.*``, ``reservation.created``).
    facts: dict[str, Any] = field(default_factory=dict)


def context_of(facts: dict[str, Any], subject: Subject, *, staff_replied: bool) -> dict[str, Any]:
    """The flat ``owner.field`` values a trigger's conditions read."""
    context = dict(facts)
    conversation, guest, stay = subject.conversation, subject.guest, subject.reservation
    if conversation is not None:
        context.update(
            {
                "conversation.status": conversation.status,
                "conversation.priority": conversation.priority,
                "conversation.channel": subject.channel,
                "conversation.tags": list(subject.conversation_tags),
                "conversation.staff_replied": staff_replied,
            }
        )
    if guest is not None:
        context["guest.language"] = guest.language
    if stay is not None:
        context.update(
            {
                "reservation.status": stay.status,
                "reservation.tags": list(stay.tags),
                "reservation.nights": (stay.check_out - stay.check_in).days,
                "reservation.room_type": stay.room_type,
                "reservation.party_size": stay.party_size,
            }
        )
    return context


def rule_of(trigger: Trigger) -> ConditionRule | None:
    """The trigger's rule; None (logged) for conditions saved before they were checked."""
    try:
        return parse(trigger.conditions)
    except InvalidConditionsError as exc:
        log.warning("condition trigger skipped", trigger_id=str(trigger.id), reason=str(exc))
        return None


async def _context(
    uow: UnitOfWork, facts: dict[str, Any], subject: Subject, since: datetime
) -> dict[str, Any]:
    replied = False
    if subject.conversation is not None:
        replied = await uow.condition_triggers.staff_replied(
            conversation_id=subject.conversation.id, since=since
        )
    return context_of(facts, subject, staff_replied=replied)


async def occur(
    uow: UnitOfWork,
    occurrence: Occurrence,
    *,
    now: datetime,
    triggers: list[Trigger] | None = None,
    record_unmet: bool = False,
) -> list[TriggerFiring]:
    """Run every trigger listening for the occurrence (or ``triggers``); the firings recorded
    now. ``record_unmet``: a trigger whose conditions fail is recorded ``not_met`` too, so a
    moment that happens once is decided once."""
    if triggers is None:
        if not await uow.condition_triggers.listening(event=occurrence.event):
            return []  # the common case, one compiled statement: no trigger listens
        triggers = await uow.condition_triggers.active_for(event=occurrence.event)
    if not triggers:
        return []
    subject = await uow.condition_triggers.subject(
        conversation_id=occurrence.conversation_id, reservation_id=occurrence.reservation_id
    )
    context: dict[str, Any] | None = None
    recorded = []
    for trigger in triggers:
        rule = rule_of(trigger)
        if rule is None:
            continue
        if trigger.property_id is not None and trigger.property_id != subject.property_id:
            continue
        claim: dict[str, Any] = {
            "trigger_id": trigger.id,
            "subject": occurrence.subject,
            "event": occurrence.event,
            "event_at": occurrence.at,
            "conversation_id": subject.conversation.id if subject.conversation else None,
            "reservation_id": subject.reservation.id if subject.reservation else None,
            "message_id": occurrence.message_id,
        }
        if rule.delay_minutes:
            # What the later look needs of the event (kept only while it waits for it).
            due = occurrence.at + timedelta(minutes=rule.delay_minutes)
            waiting = await uow.condition_triggers.claim(
                status="waiting", due_at=due, facts=occurrence.facts, **claim
            )
            if waiting is not None:
                recorded.append(waiting)
            continue
        if context is None:
            context = await _context(uow, occurrence.facts, subject, occurrence.at)
        if not matches(rule, context):
            if record_unmet:
                await uow.condition_triggers.claim(status="not_met", **claim)
            continue
        firing = await uow.condition_triggers.claim(status="fired", **claim)
        if firing is None:  # fired for this subject before (a redelivery, a repeat)
            continue
        outcomes = await act(uow, trigger, rule, subject, now=now, message_id=firing.message_id)
        await uow.condition_triggers.settle(
            firing=firing, status="fired", outcomes=outcomes, at=now
        )
        recorded.append(firing)
        log.info(
            "condition trigger fired",
            trigger_id=str(trigger.id),
            subject=occurrence.subject,
            actions=[outcome["action"] for outcome in outcomes],
        )
    return recorded


async def decide_waiting(uow: UnitOfWork, firing: TriggerFiring, *, now: datetime) -> str:
    """Look at a due waiting firing: fire it or mark it not met; returns the new status."""
    trigger = await uow.condition_triggers.get(trigger_id=firing.trigger_id)
    rule = rule_of(trigger) if trigger is not None and trigger.active else None
    if trigger is None or rule is None or rule.event != firing.event or not rule.delay_minutes:
        # Switched off, or changed since to look at something else: what it waited for is gone.
        gone = [
            {"action": "none", "status": "skipped", "detail": "the trigger is no longer active"}
        ]
        await uow.condition_triggers.settle(firing=firing, status="not_met", outcomes=gone, at=now)
        return "not_met"
    subject = await uow.condition_triggers.subject(
        conversation_id=firing.conversation_id, reservation_id=firing.reservation_id
    )
    context = await _context(uow, firing.facts, subject, firing.event_at)
    if not matches(rule, context):
        await uow.condition_triggers.settle(firing=firing, status="not_met", outcomes=[], at=now)
        return "not_met"
    outcomes = await act(uow, trigger, rule, subject, now=now, message_id=firing.message_id)
    await uow.condition_triggers.settle(firing=firing, status="fired", outcomes=outcomes, at=now)
    log.info("condition trigger fired", trigger_id=str(trigger.id), subject=firing.subject)
    return "fired"
