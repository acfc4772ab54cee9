"""Scheduled messages, the stay they are planned from, and guests' opt-outs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert

from persistence.models import (
    Channel,
    Conversation,
    Guest,
    GuestIdentity,
    Message,
    OptOut,
    Property,
    PropertySettings,
    Reservation,
    ScheduledMessage,
    StaffNotification,
    Template,
    Trigger,
    WhatsAppTemplate,
)
from persistence.models.conversations import Direction
from persistence.models.scheduling import ScheduleStatus
from persistence.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class StayRecord:
    """A reservation with what planning and rendering read beside it."""

    reservation: Reservation
    guest: Guest
    property: Property
    settings: PropertySettings | None


@dataclass(frozen=True, slots=True)
class RuleRecord:
    """An active time-based trigger and the template it names."""

    trigger: Trigger
    template: Template


class ScheduleRepository(Repository):
    async def stay(self, *, reservation_id: UUID) -> StayRecord | None:
        statement = (
            select(Reservation, Guest, Property, PropertySettings)
            .join(
                Guest,
                (Guest.tenant_id == Reservation.tenant_id) & (Guest.id == Reservation.guest_id),
            )
            .join(
                Property,
                (Property.tenant_id == Reservation.tenant_id)
                & (Property.id == Reservation.property_id),
            )
            .outerjoin(
                PropertySettings,
                (PropertySettings.tenant_id == Property.tenant_id)
                & (PropertySettings.property_id == Property.id),
            )
            .where(Reservation.tenant_id == self.tenant_id, Reservation.id == reservation_id)
        )
        found = (await self.session.execute(statement)).one_or_none()
        if found is None:
            return None
        reservation, guest, place, settings = found
        return StayRecord(reservation, guest, place, settings)

    async def rules(self, *, property_id: UUID) -> list[RuleRecord]:
        """Active time-based triggers for the property (or all properties) with live templates."""
        statement = (
            select(Trigger, Template)
            .join(
                Template,
                (Template.tenant_id == Trigger.tenant_id) & (Template.id == Trigger.template_id),
            )
            .where(
                Trigger.tenant_id == self.tenant_id,
                Trigger.active,
                Trigger.kind == "time_based",
                (Trigger.property_id.is_(None)) | (Trigger.property_id == property_id),
                Template.deleted_at.is_(None),
            )
            .order_by(Trigger.name)
        )
        return [RuleRecord(t, tpl) for t, tpl in (await self.session.execute(statement)).all()]

    async def trigger(self, *, trigger_id: UUID) -> Trigger | None:
        return await self._get(Trigger, trigger_id)

    async def get(self, *, scheduled_id: UUID, for_update: bool = False) -> ScheduledMessage | None:
        return await self._get(ScheduledMessage, scheduled_id, for_update=for_update)

    async def list_for(
        self, *, reservation_id: UUID, for_update: bool = False, kind: str | None = None
    ) -> list[ScheduledMessage]:
        """The stay's scheduled messages (``kind``: only those of that kind of trigger)."""
        statement = (
            select(ScheduledMessage)
            .where(
                ScheduledMessage.tenant_id == self.tenant_id,
                ScheduledMessage.reservation_id == reservation_id,
            )
            .order_by(ScheduledMessage.due_at, ScheduledMessage.rule_key)
        )
        if kind is not None:
            statement = statement.where(
                ScheduledMessage.trigger_id.in_(
                    select(Trigger.id).where(
                        Trigger.tenant_id == self.tenant_id, Trigger.kind == kind
                    )
                )
            )
        if for_update:
            statement = statement.with_for_update()
        return list((await self.session.execute(statement)).scalars())

    async def add(self, **values: Any) -> ScheduledMessage:
        row = ScheduledMessage(tenant_id=self.tenant_id, **values)
        self._stage(row)
        await self.session.flush()
        return row

    async def claim_due(
        self, *, scheduled_id: UUID, now: datetime | None
    ) -> ScheduledMessage | None:
        """Lock a waiting row that is due (``now`` None: due or not); None when handled, not
        due, or another transaction holds it."""
        statement = (
            select(ScheduledMessage)
            .where(
                ScheduledMessage.tenant_id == self.tenant_id,
                ScheduledMessage.id == scheduled_id,
                ScheduledMessage.status == ScheduleStatus.SCHEDULED,
            )
            .with_for_update(skip_locked=True)
        )
        if now is not None:
            statement = statement.where(ScheduledMessage.due_at <= now)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def templates_for(self, *, rule_key: str) -> list[Template]:
        statement = (
            select(Template)
            .where(
                Template.tenant_id == self.tenant_id,
                Template.rule_key == rule_key,
                Template.deleted_at.is_(None),
            )
            .order_by(Template.created_at)
        )
        return list((await self.session.execute(statement)).scalars())

    async def channels_at(self, *, property_id: UUID) -> list[Channel]:
        statement = (
            select(Channel)
            .where(
                Channel.tenant_id == self.tenant_id,
                Channel.property_id == property_id,
                Channel.enabled,
            )
            .order_by(Channel.created_at)
        )
        return list((await self.session.execute(statement)).scalars())

    async def last_conversation_channel(
        self, *, guest_id: UUID, channel_ids: list[UUID]
    ) -> UUID | None:
        """The channel of the guest's most recent conversation among ``channel_ids``."""
        if not channel_ids:
            return None
        statement = (
            select(Conversation.channel_id)
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.guest_id == guest_id,
                Conversation.channel_id.in_(channel_ids),
            )
            .order_by(func.coalesce(Conversation.last_message_at, Conversation.created_at).desc())
            .limit(1)
        )
        found: UUID | None = (await self.session.execute(statement)).scalar_one_or_none()
        return found

    async def handles(self, *, guest_id: UUID) -> dict[str, str]:
        """The guest's handle per channel kind (the oldest when there are several)."""
        statement = (
            select(GuestIdentity.kind, GuestIdentity.handle)
            .where(GuestIdentity.tenant_id == self.tenant_id, GuestIdentity.guest_id == guest_id)
            .order_by(GuestIdentity.created_at.desc())
        )
        rows = await self.session.execute(statement)
        return {row.kind: row.handle for row in rows}

    async def last_inbound_at(self, *, guest_id: UUID, channel_id: UUID) -> datetime | None:
        statement = (
            select(func.max(Message.created_at))
            .join(
                Conversation,
                (Conversation.tenant_id == Message.tenant_id)
                & (Conversation.id == Message.conversation_id),
            )
            .where(
                Message.tenant_id == self.tenant_id,
                Message.channel_id == channel_id,
                Message.direction == Direction.INBOUND,
                Conversation.guest_id == guest_id,
            )
        )
        found: datetime | None = (await self.session.execute(statement)).scalar_one_or_none()
        return found

    async def approved_whatsapp_template(
        self, *, channel_id: UUID, name: str, languages: list[str]
    ) -> WhatsAppTemplate | None:
        """An approved WhatsApp template of the channel by name, in the first language listed
        that it has."""
        statement = select(WhatsAppTemplate).where(
            WhatsAppTemplate.tenant_id == self.tenant_id,
            WhatsAppTemplate.channel_id == channel_id,
            WhatsAppTemplate.name == name,
            WhatsAppTemplate.approval_status == "approved",
        )
        found = {
            row.language.lower(): row for row in (await self.session.execute(statement)).scalars()
        }
        for language in languages:
            if language.lower() in found:
                return found[language.lower()]
        return None

    async def notify_once(
        self, *, key: str, conversation_id: UUID, detail: str, at: datetime
    ) -> bool:
        """Raise one staff notification per tenant and ``key`` (its detail); False if raised."""
        lock_key = f"notice:{self.tenant_id}:{key}"
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(lock_key, 0)))
        )
        exists = await self.session.execute(
            select(StaffNotification.id)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.type == "escalation",
                StaffNotification.detail == detail,
            )
            .limit(1)
        )
        if exists.scalar_one_or_none() is not None:
            return False
        self._stage(
            StaffNotification(
                tenant_id=self.tenant_id,
                conversation_id=conversation_id,
                type="escalation",
                detail=detail,
                next_alert_at=at,
            )
        )
        await self.session.flush()
        return True

    async def opted_out(self, *, guest_id: UUID, kind: str) -> OptOut | None:
        statement = select(OptOut).where(
            OptOut.tenant_id == self.tenant_id, OptOut.guest_id == guest_id, OptOut.kind == kind
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def opt_out(
        self, *, guest_id: UUID, kind: str, keyword: str, message_id: UUID | None, at: datetime
    ) -> None:
        """Record that the guest wants no proactive messages on ``kind`` (idempotent)."""
        await self.session.execute(
            insert(OptOut)
            .values(
                tenant_id=self.tenant_id,
                guest_id=guest_id,
                kind=kind,
                keyword=keyword,
                message_id=message_id,
                opted_out_at=at,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "guest_id", "kind"])
        )

    async def opt_in(self, *, guest_id: UUID, kind: str) -> bool:
        """START: proactive messages on ``kind`` again; False when there was no opt-out."""
        result = await self.session.execute(
            delete(OptOut)
            .where(
                OptOut.tenant_id == self.tenant_id,
                OptOut.guest_id == guest_id,
                OptOut.kind == kind,
            )
            .returning(OptOut.id)
        )
        return result.first() is not None
