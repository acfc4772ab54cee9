"""Condition triggers: the active ones per event, what their conditions read about a subject,
and their firings (one per trigger and subject, claimed by an insert that does nothing twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Text, exists, func, inspect, select, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models import (
    Channel,
    Conversation,
    ConversationTag,
    Guest,
    Message,
    Property,
    PropertySettings,
    Reservation,
    Tag,
    Trigger,
    TriggerFiring,
)
from persistence.models.conversations import Direction, SenderType
from persistence.repositories.base import Repository
from persistence.statements import Compiled, param, table_of

reservations = table_of(Reservation)
triggers = table_of(Trigger)
messages = table_of(Message)


def _tag_reservation() -> Compiled:
    """Add a tag to a stay's tags unless it has it (compared case-insensitively)."""
    tag = param("tag", Text)
    names = func.unnest(reservations.c.tags).table_valued("name").render_derived(name="t")
    has_it = exists().select_from(names).where(func.lower(names.c.name) == func.lower(tag))
    return Compiled.of(
        update(reservations)
        .where(
            reservations.c.tenant_id == param("tenant_id"),
            reservations.c.id == param("reservation_id"),
            ~has_it,
        )
        .values(tags=func.array_append(reservations.c.tags, tag), updated_at=func.now())
        .returning(reservations.c.id)
    )


# The triggers consumer runs these for the events its triggers listen for.
_TAG_RESERVATION = _tag_reservation()
# Every event the triggers consumer takes asks this first: most tenants have no condition
# trigger listening, and then nothing else is read.
_LISTENING = Compiled.of(
    select(
        exists().where(
            triggers.c.tenant_id == param("tenant_id"),
            triggers.c.active,
            triggers.c.kind == "condition_based",
            triggers.c.conditions["event"].astext == param("event"),
        )
    )
)
_STAFF_REPLIED = Compiled.of(
    select(
        exists().where(
            messages.c.tenant_id == param("tenant_id"),
            messages.c.conversation_id == param("conversation_id"),
            messages.c.direction == Direction.OUTBOUND,
            messages.c.sender_type == SenderType.STAFF,
            messages.c.created_at > param("since"),
        )
    )
)


@dataclass(frozen=True, slots=True)
class Subject:
    """What a trigger's conditions can read beside the event: the conversation, the guest and
    the stay (each None when there is none), and the property they belong to."""

    conversation: Conversation | None
    guest: Guest | None
    reservation: Reservation | None
    property_id: UUID | None
    channel: str | None
    conversation_tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Departure:
    """A stay around its check-out, with the property's zone and check-out time."""

    reservation: Reservation
    timezone: str
    check_out_time: Any


class ConditionTriggerRepository(Repository):
    async def get(self, *, trigger_id: UUID) -> Trigger | None:
        return await self._get(Trigger, trigger_id)

    async def listening(self, *, event: str) -> bool:
        """Whether an active condition trigger listens for ``event``."""
        return bool(await self.sql.value(_LISTENING, tenant_id=self.tenant_id, event=event))

    async def active_for(self, *, event: str) -> list[Trigger]:
        """Active condition triggers listening for ``event``, by name."""
        statement = (
            select(Trigger)
            .where(
                Trigger.tenant_id == self.tenant_id,
                Trigger.active,
                Trigger.kind == "condition_based",
                Trigger.conditions["event"].astext == event,
            )
            .order_by(Trigger.name)
        )
        return list((await self.session.execute(statement)).scalars())

    async def claim(
        self,
        *,
        trigger_id: UUID,
        subject: str,
        event: str,
        status: str,
        event_at: datetime,
        due_at: datetime | None = None,
        conversation_id: UUID | None = None,
        reservation_id: UUID | None = None,
        message_id: UUID | None = None,
        facts: dict[str, Any] | None = None,
    ) -> TriggerFiring | None:
        """Record the trigger's firing for ``subject``; None when one was recorded before."""
        statement = (
            insert(TriggerFiring)
            .values(
                tenant_id=self.tenant_id,
                trigger_id=trigger_id,
                subject=subject,
                event=event,
                status=status,
                event_at=event_at,
                due_at=due_at,
                conversation_id=conversation_id,
                reservation_id=reservation_id,
                message_id=message_id,
                facts=facts or {},
                decided_at=None if status == "waiting" else func.now(),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "trigger_id", "subject"])
            .returning(TriggerFiring)
        )
        return (await self.session.scalars(statement)).one_or_none()

    async def due_waiting(self, *, now: datetime, batch: int = 100) -> list[TriggerFiring]:
        """Waiting firings due by ``now``, locked (another sweep skips them)."""
        statement = (
            select(TriggerFiring)
            .where(
                TriggerFiring.tenant_id == self.tenant_id,
                TriggerFiring.status == "waiting",
                TriggerFiring.due_at <= now,
            )
            .order_by(TriggerFiring.due_at)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(statement)).scalars())

    async def list_firings(
        self, *, trigger_id: UUID, limit: int, before: datetime | None = None
    ) -> list[TriggerFiring]:
        """The trigger's firings, newest first."""
        statement = (
            select(TriggerFiring)
            .where(
                TriggerFiring.tenant_id == self.tenant_id, TriggerFiring.trigger_id == trigger_id
            )
            .order_by(TriggerFiring.created_at.desc(), TriggerFiring.id)
            .limit(limit)
        )
        if before is not None:
            statement = statement.where(TriggerFiring.created_at < before)
        return list((await self.session.execute(statement)).scalars())

    async def subject(
        self, *, conversation_id: UUID | None = None, reservation_id: UUID | None = None
    ) -> Subject:
        """The conversation, guest and stay an event is about: a conversation's own stay, or a
        stay's guest's most recent conversation at its property."""
        conversation = reservation = guest = None
        if conversation_id is not None:
            conversation = await self._get(Conversation, conversation_id)
        if conversation is not None and conversation.reservation_id is not None:
            reservation = await self._get(Reservation, conversation.reservation_id)
        if reservation_id is not None:
            reservation = await self._get(Reservation, reservation_id)
        guest_id = conversation.guest_id if conversation else None
        if guest_id is None and reservation is not None:
            guest_id = reservation.guest_id
        if guest_id is not None:
            guest = await self._get(Guest, guest_id)
        if conversation is None and reservation is not None:
            conversation = await self._latest_conversation(
                guest_id=reservation.guest_id, property_id=reservation.property_id
            )
        channel = None
        if conversation is not None:
            channel = await self._get(Channel, conversation.channel_id)
        property_id = reservation.property_id if reservation is not None else None
        if channel is not None:
            property_id = channel.property_id
        tags = await self._tags(conversation.id) if conversation is not None else ()
        return Subject(
            conversation=conversation,
            guest=guest,
            reservation=reservation,
            property_id=property_id,
            channel=channel.provider if channel else None,
            conversation_tags=tags,
        )

    async def _latest_conversation(
        self, *, guest_id: UUID, property_id: UUID
    ) -> Conversation | None:
        statement = (
            select(Conversation)
            .join(
                Channel,
                (Channel.tenant_id == Conversation.tenant_id)
                & (Channel.id == Conversation.channel_id),
            )
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.guest_id == guest_id,
                Channel.property_id == property_id,
            )
            .order_by(func.coalesce(Conversation.last_message_at, Conversation.created_at).desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def _tags(self, conversation_id: UUID) -> tuple[str, ...]:
        statement = (
            select(Tag.name)
            .join(
                ConversationTag,
                (ConversationTag.tenant_id == Tag.tenant_id) & (ConversationTag.tag_id == Tag.id),
            )
            .where(
                ConversationTag.tenant_id == self.tenant_id,
                ConversationTag.conversation_id == conversation_id,
            )
            .order_by(Tag.name)
        )
        return tuple((await self.session.execute(statement)).scalars())

    async def staff_replied(self, *, conversation_id: UUID, since: datetime) -> bool:
        """Whether a staff member wrote to the guest in the conversation after ``since``."""
        found = await self.sql.value(
            _STAFF_REPLIED, tenant_id=self.tenant_id, conversation_id=conversation_id, since=since
        )
        return bool(found)

    async def departures(
        self, *, trigger_id: UUID, check_out_from: date, check_out_to: date
    ) -> list[Departure]:
        """Stays checking out between the two days (inclusive), with their property's zone,
        that the trigger has not decided yet."""
        decided = select(TriggerFiring.id).where(
            TriggerFiring.tenant_id == self.tenant_id,
            TriggerFiring.trigger_id == trigger_id,
            TriggerFiring.subject == func.concat("reservation:", Reservation.id),
        )
        statement = (
            select(Reservation, Property.timezone, PropertySettings.check_out_time)
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
            .where(
                Reservation.tenant_id == self.tenant_id,
                Reservation.check_out >= check_out_from,
                Reservation.check_out <= check_out_to,
                ~decided.exists(),
            )
            .order_by(Reservation.check_out, Reservation.id)
        )
        rows = await self.session.execute(statement)
        return [Departure(row[0], row[1], row[2]) for row in rows]

    async def tag_reservation(self, *, reservation_id: UUID, tag: str) -> bool:
        """Add ``tag`` to the stay's tags; False if it had it (compared case-insensitively)."""
        added = await self.sql.value(
            _TAG_RESERVATION, tenant_id=self.tenant_id, reservation_id=reservation_id, tag=tag
        )
        if added is None:
            return False
        # The stay a firing holds (its subject) shows the new tag to the actions after this one.
        key = inspect(Reservation).identity_key_from_primary_key((reservation_id,))
        held = self.session.identity_map.get(key)
        if held is not None:
            await self.session.refresh(held, attribute_names=["tags", "updated_at"])
        return True

    async def settle(
        self, *, firing: TriggerFiring, status: str, outcomes: list[dict[str, Any]], at: datetime
    ) -> None:
        """A firing was decided: ``fired`` with its outcomes, or ``not_met``; a waiting one's
        facts (the guest's words among them) are not kept past its decision."""
        firing.status, firing.outcomes, firing.decided_at = status, outcomes, at
        firing.facts = {}
        await self.session.flush()
