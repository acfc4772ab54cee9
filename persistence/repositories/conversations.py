"""Conversations: found or opened race-free, and moved through their lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from uuid import UUID

from sqlalchemy import ARRAY, DateTime, Text, and_, any_, case, func, select, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models import AiSettings, Channel, Conversation, ConversationEvent, Property
from persistence.models.conversations import (
    CONVERSATION_STATUSES,
    PRIORITIES,
    ConversationStatus,
)
from persistence.repositories.base import NotFoundError, Repository
from persistence.statements import Compiled, param, table_of

conversations = table_of(Conversation)

_ATTEMPTS = 3
_CLOSED = (ConversationStatus.RESOLVED, ConversationStatus.CLOSED)
# Every inbound message makes these. "Open" is written as the partial unique index
# uq_conversations_open_per_guest_channel writes it (status NOT IN ('resolved', 'closed')), so
# the ON CONFLICT names that index and the lookup can use it.
_IS_OPEN = conversations.c.status.not_in(_CLOSED)
_AT = param("at", DateTime(timezone=True))
_THIS = (
    conversations.c.tenant_id == param("tenant_id"),
    conversations.c.id == param("conversation_id"),
)
_OPEN = Compiled.of(
    insert(conversations)
    .values(
        id=func.gen_random_uuid(),  # the server's, as the column's server default makes it
        tenant_id=param("tenant_id"),
        guest_id=param("guest_id"),
        channel_id=param("channel_id"),
        status=ConversationStatus.NEW,
        first_message_at=_AT,
        last_message_at=_AT,
    )
    .on_conflict_do_nothing(
        index_elements=[
            conversations.c.tenant_id,
            conversations.c.guest_id,
            conversations.c.channel_id,
        ],
        index_where=_IS_OPEN,
    )
    .returning(conversations.c.id)
)
_FIND_OPEN = Compiled.of(
    select(conversations.c.id, conversations.c.reservation_id).where(
        conversations.c.tenant_id == param("tenant_id"),
        conversations.c.guest_id == param("guest_id"),
        conversations.c.channel_id == param("channel_id"),
        _IS_OPEN,
    )
)
_RECORD_INBOUND = Compiled.of(
    update(conversations)
    .where(*_THIS)
    .values(
        last_message_at=func.greatest(conversations.c.last_message_at, _AT),
        first_message_at=func.coalesce(conversations.c.first_message_at, _AT),
        status=case(
            (
                conversations.c.status.in_(
                    [ConversationStatus.SNOOZED, ConversationStatus.PENDING]
                ),
                ConversationStatus.OPEN,
            ),
            else_=conversations.c.status,
        ),
        updated_at=func.now(),
    )
)
_RECORD_RESPONSE = Compiled.of(
    update(conversations)
    .where(*_THIS)
    .values(
        first_response_at=func.coalesce(conversations.c.first_response_at, _AT),
        last_message_at=func.greatest(conversations.c.last_message_at, _AT),
        updated_at=func.now(),
    )
)
_LINK_RESERVATION = Compiled.of(
    update(conversations)
    .where(*_THIS, conversations.c.reservation_id.is_(None))
    .values(reservation_id=param("reservation_id"), updated_at=func.now())
)
_RAISE_PRIORITY = Compiled.of(
    update(conversations)
    .where(*_THIS, conversations.c.priority == any_(param("lower", ARRAY(Text()))))
    .values(priority=param("priority"), updated_at=func.now())
)


@dataclass(frozen=True, slots=True)
class OpenConversation:
    """The conversation an inbound message joins."""

    id: UUID
    reservation_id: UUID | None


def _escalation_input() -> Compiled:
    """The conversation, the tenant's quiet hours and the property's time zone, in one read."""
    c, ch, p, s = conversations, table_of(Channel), table_of(Property), table_of(AiSettings)
    joined = (
        c.outerjoin(ch, and_(ch.c.tenant_id == c.c.tenant_id, ch.c.id == c.c.channel_id))
        .outerjoin(p, and_(p.c.tenant_id == ch.c.tenant_id, p.c.id == ch.c.property_id))
        .outerjoin(s, s.c.tenant_id == c.c.tenant_id)
    )
    return Compiled.of(
        select(c.c.id, s.c.quiet_hours_start, s.c.quiet_hours_end, p.c.timezone)
        .select_from(joined)
        .where(*_THIS)
    )


_ESCALATION_INPUT = _escalation_input()


@dataclass(frozen=True, slots=True)
class EscalationInput:
    """What escalating a conversation reads: when the tenant's quiet hours are and where."""

    conversation_id: UUID
    quiet_hours_start: time | None
    quiet_hours_end: time | None
    timezone: str | None  # the property's


class ConversationRepository(Repository):
    async def get(self, *, conversation_id: UUID, for_update: bool = False) -> Conversation | None:
        return await self._get(Conversation, conversation_id, for_update=for_update)

    async def escalation_input(self, *, conversation_id: UUID) -> EscalationInput | None:
        """None if there is no such conversation."""
        row = await self.sql.row(
            _ESCALATION_INPUT, tenant_id=self.tenant_id, conversation_id=conversation_id
        )
        return None if row is None else EscalationInput(*row)

    async def find_or_open(
        self, *, guest_id: UUID, channel_id: UUID, at: datetime
    ) -> tuple[OpenConversation, bool]:
        """The open conversation of this guest on this channel, opened if there is none.

        Returns ``(conversation, opened)``. Race-free: the partial unique index lets one
        INSERT win; the others do nothing and read the winner's row.
        """
        where = {"tenant_id": self.tenant_id, "guest_id": guest_id, "channel_id": channel_id}
        for _ in range(_ATTEMPTS):
            opened = await self.sql.value(_OPEN, **where, at=at)
            if opened is not None:
                return OpenConversation(id=opened, reservation_id=None), True
            existing = await self.sql.row(_FIND_OPEN, **where)
            if existing is not None:  # closed between the two statements: try again
                return OpenConversation(id=existing[0], reservation_id=existing[1]), False
        raise RuntimeError("conversation kept closing while being opened")

    async def record_inbound(self, *, conversation_id: UUID, at: datetime) -> None:
        """A guest wrote: reopen a snoozed or pending conversation and move last_message_at."""
        await self.sql.run(
            _RECORD_INBOUND, tenant_id=self.tenant_id, conversation_id=conversation_id, at=at
        )

    async def record_response(self, *, conversation_id: UUID, at: datetime) -> None:
        """Staff or the assistant answered: first_response_at is set once."""
        await self.sql.run(
            _RECORD_RESPONSE, tenant_id=self.tenant_id, conversation_id=conversation_id, at=at
        )

    async def link_reservation(self, *, conversation_id: UUID, reservation_id: UUID) -> None:
        """Attach the stay the guest wrote about, unless one is attached already."""
        await self.sql.run(
            _LINK_RESERVATION,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            reservation_id=reservation_id,
        )

    async def raise_priority(self, *, conversation_id: UUID, priority: str) -> None:
        """Raise the priority (never lower it: an urgent conversation stays urgent)."""
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        lower = list(PRIORITIES[: PRIORITIES.index(priority)])
        await self.sql.run(
            _RAISE_PRIORITY,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            priority=priority,
            lower=lower,
        )

    async def set_status(
        self,
        *,
        conversation_id: UUID,
        status: str,
        actor_type: str = "system",
        actor_user_id: UUID | None = None,
    ) -> None:
        """Change the status and write the change to the conversation's audit trail."""
        if status not in CONVERSATION_STATUSES:
            raise ValueError(f"unknown conversation status {status!r}")
        conversation = await self._locked(conversation_id)
        previous = conversation.status
        conversation.status = status
        if status in _CLOSED:
            conversation.closed_at = datetime.now(UTC)
        self._audit(conversation_id, "status", previous, status, actor_type, actor_user_id)
        await self.session.flush()

    async def set_takeover(
        self, *, conversation_id: UUID, human_takeover: bool, actor_user_id: UUID | None = None
    ) -> None:
        """Staff take the conversation over (the assistant stays quiet) or hand it back."""
        conversation = await self._locked(conversation_id)
        previous = str(conversation.human_takeover).lower()
        conversation.human_takeover = human_takeover
        actor = "staff" if actor_user_id else "system"
        self._audit(
            conversation_id, "takeover", previous, str(human_takeover).lower(), actor, actor_user_id
        )
        await self.session.flush()

    async def assign(
        self,
        *,
        conversation_id: UUID,
        assignee_id: UUID | None,
        team_id: UUID | None = None,
        actor_user_id: UUID | None = None,
    ) -> None:
        conversation = await self._locked(conversation_id)
        previous = str(conversation.assignee_id) if conversation.assignee_id else None
        conversation.assignee_id = assignee_id
        conversation.team_id = team_id
        conversation.assigned_at = datetime.now(UTC) if assignee_id else None
        actor = "staff" if actor_user_id else "system"
        self._audit(
            conversation_id,
            "assignee",
            previous,
            str(assignee_id) if assignee_id else None,
            actor,
            actor_user_id,
        )
        await self.session.flush()

    async def list_events(self, *, conversation_id: UUID) -> list[ConversationEvent]:
        statement = (
            select(ConversationEvent)
            .where(
                ConversationEvent.tenant_id == self.tenant_id,
                ConversationEvent.conversation_id == conversation_id,
            )
            .order_by(ConversationEvent.created_at)
        )
        return list((await self.session.execute(statement)).scalars())

    async def _locked(self, conversation_id: UUID) -> Conversation:
        conversation = await self._get(Conversation, conversation_id, for_update=True)
        if conversation is None:
            raise NotFoundError(f"conversation {conversation_id} not found")
        return conversation

    def _audit(
        self,
        conversation_id: UUID,
        kind: str,
        from_value: str | None,
        to_value: str | None,
        actor_type: str,
        actor_user_id: UUID | None,
    ) -> None:
        self._stage(
            ConversationEvent(
                tenant_id=self.tenant_id,
                conversation_id=conversation_id,
                kind=kind,
                from_value=from_value,
                to_value=to_value,
                actor_type=actor_type,
                actor_user_id=actor_user_id,
            )
        )
