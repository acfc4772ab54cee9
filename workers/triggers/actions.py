"""What a fired condition trigger does, in the transaction that records the firing.

- ``notify_staff``: a ``condition_trigger`` staff notification on the subject's conversation,
  alerted at once when urgent, else when the tenant's quiet hours end (the dispatcher re-alerts
  until someone acknowledges it).
- ``send_template``: a scheduled message for the subject's stay, due now; the scheduler hands it
  over as it does every scheduled message (quiet hours, STOP, the WhatsApp 24-hour rule).
- ``add_tag``: a tag on the conversation (the inbox's own tag command) or on the stay.

Each action returns its outcome (``done`` or ``skipped`` with why), kept on the firing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.conditions import Action, ConditionRule
from domain.quiet_hours import quiet_hours_end
from persistence.models import Trigger
from persistence.repositories.condition_triggers import Subject
from persistence.uow import UnitOfWork
from workers.api.commands.inbox import tag as tag_conversation

Outcome = dict[str, Any]


def _skipped(action: Action, detail: str) -> Outcome:
    return {"action": action.type, "status": "skipped", "detail": detail}


async def _notify(
    uow: UnitOfWork,
    trigger: Trigger,
    action: Action,
    subject: Subject,
    now: datetime,
    message_id: UUID | None,
) -> Outcome:
    conversation = subject.conversation
    if conversation is None:
        return _skipped(action, "the guest has no conversation to notify staff about")
    due = now
    if not action.urgent:
        settings = await uow.ai_settings.get()
        place = (
            await uow.properties.get(property_id=subject.property_id)
            if subject.property_id
            else None
        )
        if settings is not None and settings.quiet_hours_start and settings.quiet_hours_end:
            due = quiet_hours_end(
                now,
                settings.quiet_hours_start,
                settings.quiet_hours_end,
                place.timezone if place else "UTC",
            )
    detail = f"{action.detail or 'its conditions were met'} (trigger {trigger.name!r})"
    # On the message the event was about, so the alert quotes the guest's words; one such
    # notification per message (a second trigger on it finds the first).
    notification, created = await uow.notifications.add(
        conversation_id=conversation.id,
        message_id=message_id,
        type="condition_trigger",
        urgent=action.urgent,
        detail=detail,
        next_alert_at=due,
    )
    return {
        "action": action.type,
        "status": "done" if created else "skipped",
        "detail": "" if created else "staff were already notified about this message",
        "notification_id": str(notification.id),
        "due_at": (notification.next_alert_at or due).isoformat(),
    }


async def _send(
    uow: UnitOfWork, trigger: Trigger, action: Action, subject: Subject, now: datetime
) -> Outcome:
    stay = subject.reservation
    if stay is None:
        return _skipped(action, "no stay to send the template for")
    template = (
        await uow.templates.get(template_id=action.template_id) if action.template_id else None
    )
    if template is None or template.deleted_at is not None:
        return _skipped(action, "the template was deleted")
    existing = await uow.schedule.list_for(reservation_id=stay.id)
    if any(row.trigger_id == trigger.id for row in existing):
        return _skipped(action, "this trigger already sent its template for the stay")
    row = await uow.schedule.add(
        reservation_id=stay.id,
        trigger_id=trigger.id,
        template_id=template.id,
        rule_key=template.rule_key,
        status="scheduled",
        due_at=now,
        reason=f"condition trigger {trigger.name!r}",
    )
    return {"action": action.type, "status": "done", "scheduled_message_id": str(row.id)}


async def _tag(uow: UnitOfWork, action: Action, subject: Subject) -> Outcome:
    if action.to == "reservation":
        if subject.reservation is None:
            return _skipped(action, "no stay to tag")
        added = await uow.condition_triggers.tag_reservation(
            reservation_id=subject.reservation.id, tag=action.tag
        )
    else:
        if subject.conversation is None:
            return _skipped(action, "no conversation to tag")
        added = await tag_conversation(
            uow, conversation=subject.conversation, name=action.tag, add=True, actor_user_id=None
        )
    return {
        "action": action.type,
        "status": "done" if added else "skipped",
        "detail": f"{action.to} tagged {action.tag!r}" if added else "it had the tag",
    }


async def act(
    uow: UnitOfWork,
    trigger: Trigger,
    rule: ConditionRule,
    subject: Subject,
    *,
    now: datetime,
    message_id: UUID | None = None,
) -> list[Outcome]:
    """Carry out the rule's actions in order; the outcome of each. ``message_id``: the
    guest's message the event was about, if any."""
    outcomes = []
    for action in rule.actions:
        if action.type == "notify_staff":
            outcomes.append(await _notify(uow, trigger, action, subject, now, message_id))
        elif action.type == "send_template":
            outcomes.append(await _send(uow, trigger, action, subject, now))
        else:
            outcomes.append(await _tag(uow, action, subject))
    return outcomes
