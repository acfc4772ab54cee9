"""Handing a due scheduled message to the dispatcher, exactly once.

Per row, one transaction of its tenant: claim it (``FOR UPDATE SKIP LOCKED``, still
``scheduled`` and due), decide, and either insert the outbound ``messages`` row (``pending``,
``send_after`` now) and mark the row ``sent`` with its id — both commit together, so several
schedulers and restarts make one message per reservation and rule — or mark it skipped,
cancelled or failed with the reason, or hold it until quiet hours end. The dispatcher then sends
the message at most once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog

from domain.quiet_hours import quiet_hours_end
from domain.scheduling import ENDED_STATUSES, WHATSAPP_PROVIDERS, whatsapp_window_open
from persistence.models import Channel, ScheduledMessage, Template
from persistence.repositories.reservations import PHONE_KINDS
from persistence.repositories.scheduling import StayRecord
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.consumers.planner import stay_of
from workers.scheduler import rendering

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
# Which channel a proactive message takes when the guest never wrote at the property.
PREFERENCE = ("whatsapp_cloud", "green_api", "twilio_sms", "telegram", "email")
SETTING_FOR = {
    "whatsapp_cloud": "whatsapp_enabled",
    "green_api": "whatsapp_enabled",
    "twilio_sms": "sms_enabled",
    "telegram": "telegram_enabled",
    "email": "email_enabled",
}
_PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # sent | held | skipped | cancelled | failed | taken
    detail: str = ""
    message_id: UUID | None = None


def _field(values: dict[str, dict[str, Any]], path: str) -> str:
    owner, _, name = str(path).partition(".")
    value = values.get(owner, {}).get(name)
    return "" if value is None else str(value)


def pick_template(
    templates: list[Template], *, provider: str, language: str | None, planned: UUID | None
) -> Template | None:
    """The channel's template in the guest's language, else the planned one, else the channel's
    in English or any language, else the planned template of another channel."""
    language = (language or "").lower()

    def rank(template: Template) -> tuple[int, ...]:
        return (
            template.channel != provider,
            template.language.lower() != language,
            template.id != planned,
            template.language.lower() != "en",
        )

    return min(templates, key=rank, default=None)


def render_context(record: StayRecord) -> dict[str, dict[str, Any]]:
    guest, reservation, place, settings = (
        record.guest,
        record.reservation,
        record.property,
        record.settings,
    )
    return rendering.context(
        guest={
            "full_name": guest.full_name,
            "language": guest.language,
            "phone": guest.phone,
            "email": guest.email,
        },
        reservation={
            "id": str(reservation.id),
            "external_ref": reservation.external_ref,
            "check_in": reservation.check_in,
            "check_out": reservation.check_out,
            "check_in_time": reservation.check_in_time
            or (settings.check_in_time if settings else None),
            "check_out_time": reservation.check_out_time
            or (settings.check_out_time if settings else None),
            "room": reservation.room_number,
            "room_type": reservation.room_type,
            "party_size": reservation.party_size,
            "status": reservation.status,
        },
        place={name: getattr(place, name) for name in rendering.FIELDS["property"]},
        settings={name: getattr(settings, name, None) for name in rendering.FIELDS["settings"]},
    )


class Scheduler:
    def __init__(self, *, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def run_due(self, *, batch: int = 100) -> list[Outcome]:
        """Hand over what is due now; one outcome per row looked at."""
        async with self._uow_factory.system() as system:
            due = await system.due_scheduled_messages(now=self._clock(), batch=batch)
        outcomes = []
        for row in due:
            try:
                outcomes.append(
                    await self.hand_over(
                        tenant_id=row.tenant_id, scheduled_id=row.scheduled_message_id
                    )
                )
            except Exception as exc:  # one row's trouble must not stop the sweep
                log.exception(
                    "scheduled message failed", scheduled_id=str(row.scheduled_message_id)
                )
                outcomes.append(Outcome("taken", repr(exc)))
        return outcomes

    async def hand_over(
        self, *, tenant_id: UUID, scheduled_id: UUID, force: bool = False
    ) -> Outcome:
        """Claim one due row and settle it in one transaction (``force``: due or not, for
        staff's send-now; quiet hours are not waited for then either)."""
        now = self._clock()
        async with self._uow_factory(tenant_id) as uow:
            row = await uow.schedule.claim_due(
                scheduled_id=scheduled_id, now=None if force else now
            )
            if row is None:  # handed over, not due, or another scheduler holds it
                return Outcome("taken", "not due or already handled")
            outcome = await settle(uow, row, now=now, hold_for_quiet_hours=not force)
            await uow.commit()
        log.info(
            "scheduled message settled",
            tenant_id=str(tenant_id),
            scheduled_id=str(scheduled_id),
            outcome=outcome.status,
            detail=outcome.detail,
        )
        return outcome


def _close(row: ScheduledMessage, status: str, reason: str, now: datetime) -> Outcome:
    row.status, row.reason, row.handled_at = status, reason, now
    return Outcome(status, reason)


async def settle(
    uow: UnitOfWork, row: ScheduledMessage, *, now: datetime, hold_for_quiet_hours: bool = True
) -> Outcome:
    """Decide a claimed row: send (an outbound message), hold, skip, cancel or fail."""
    record = await uow.schedule.stay(reservation_id=row.reservation_id)
    assert record is not None  # the row's foreign key keeps its reservation
    stay = stay_of(record)
    trigger = await uow.schedule.trigger(trigger_id=row.trigger_id)
    # A condition trigger's message may follow the stay (the day after check-out's review).
    after_stay = trigger is not None and trigger.kind == "condition_based"
    if stay.status in ENDED_STATUSES:
        return _close(row, "cancelled", ENDED_STATUSES[stay.status], now)
    if stay.status == "checked_out" and not after_stay:
        return _close(row, "cancelled", "guest checked out", now)
    if now >= stay.departure and not after_stay:
        return _close(row, "skipped", "the stay is over", now)
    ai = await uow.ai_settings.get()
    if hold_for_quiet_hours and ai is not None:
        until = quiet_hours_end(now, ai.quiet_hours_start, ai.quiet_hours_end, stay.timezone)
        if until > now:
            row.due_at, row.reason = until, "held until quiet hours end"
            return Outcome("held", until.isoformat())
    chosen = await choose_channel(uow, record)
    if chosen is None:
        return _close(row, "skipped", "no channel of the property reaches the guest", now)
    channel, handle = chosen
    if await uow.schedule.opted_out(guest_id=record.guest.id, kind=channel.provider):
        return _close(row, "skipped", f"guest opted out on {channel.provider} (STOP)", now)
    templates = await uow.schedule.templates_for(rule_key=row.rule_key)
    template = pick_template(
        templates,
        provider=channel.provider,
        language=record.guest.language,
        planned=row.template_id,
    )
    body = row.custom_body or (template.body if template else None)
    if body is None:
        return _close(row, "skipped", f"no live template for {row.rule_key}", now)
    values = render_context(record)
    try:
        text = rendering.render(body, values)
        subject = (
            rendering.render(template.subject, values) if template and template.subject else None
        )
    except rendering.TemplateFieldError as exc:
        return _close(row, "failed", str(exc), now)
    if not text:
        return _close(row, "failed", "the template renders to nothing", now)
    await uow.reservations.claim_handle(
        record.guest.id, channel.provider, handle, record.guest.full_name
    )
    conversation, _ = await uow.conversations.find_or_open(
        guest_id=record.guest.id, channel_id=channel.id, at=now
    )
    content_type = "text"
    if channel.provider in WHATSAPP_PROVIDERS and not whatsapp_window_open(
        await uow.schedule.last_inbound_at(guest_id=record.guest.id, channel_id=channel.id), now
    ):
        name = str(
            (trigger.conditions if trigger else {}).get("whatsapp_template") or row.rule_key.lower()
        )
        languages = [
            lang
            for lang in (record.guest.language, template.language if template else None, "en")
            if lang
        ]
        approved = await uow.schedule.approved_whatsapp_template(
            channel_id=channel.id, name=name, languages=languages
        )
        if approved is None:
            reason = f"WhatsApp 24-hour window closed and no approved WhatsApp template {name!r}"
            await uow.schedule.notify_once(
                key=f"whatsapp-template:{channel.id}:{name}",
                conversation_id=conversation.id,
                detail=(
                    f"No approved WhatsApp template {name!r} on {channel.name}: scheduled "
                    "messages to guests who have not written in 24 hours are skipped"
                ),
                at=now,
            )
            return _close(row, "skipped", reason, now)
        parameters = [
            _field(values, path) for path in approved.components.get("body_parameters", [])
        ]
        text = _PLACEHOLDER.sub(
            lambda m: (
                parameters[int(m.group(1)) - 1] if 0 < int(m.group(1)) <= len(parameters) else ""
            ),
            approved.body,
        )
        row.whatsapp_template_id = approved.id
        row.whatsapp_params = {
            "name": approved.name,
            "language": approved.language,
            "body_parameters": parameters,
        }
        content_type = "template"
    message = await uow.outbound.draft(
        conversation_id=conversation.id,
        channel_id=channel.id,
        content=text,
        subject=subject,
        send_after=now,
        sender_type="system",
        content_type=content_type,
        template_id=template.id if template else None,
    )
    row.status, row.message_id, row.channel_id, row.handled_at = "sent", message.id, channel.id, now
    return Outcome("sent", channel.provider, message.id)


async def choose_channel(uow: UnitOfWork, record: StayRecord) -> tuple[Channel, str] | None:
    """The guest's most recent channel at the property, else the first that reaches them."""
    settings, guest = record.settings, record.guest
    handles = await uow.schedule.handles(guest_id=guest.id)
    reachable: dict[UUID, tuple[Channel, str]] = {}
    for channel in await uow.schedule.channels_at(property_id=record.property.id):
        if settings is not None and not getattr(settings, SETTING_FOR[channel.provider]):
            continue
        handle = handles.get(channel.provider)
        if handle is None and channel.provider in PHONE_KINDS:
            handle = guest.phone
        if handle is None and channel.provider == "email":
            handle = guest.email
        if handle is not None:
            reachable[channel.id] = (channel, handle)
    last = await uow.schedule.last_conversation_channel(
        guest_id=guest.id, channel_ids=list(reachable)
    )
    if last is not None:
        return reachable[last]
    ordered = sorted(reachable.values(), key=lambda pair: PREFERENCE.index(pair[0].provider))
    return ordered[0] if ordered else None
