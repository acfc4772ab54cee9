"""Conversations: found or opened race-free, and moved through their lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import func, select, update

from persistence.models import Conversation, ConversationEvent
from persistence.models.conversations import CONVERSATION_STATUSES, PRIORITIES
from persistence.repositories.base import NotFoundError, Repository

_ATTEMPTS = 3
# Every inbound message makes these: SQL through the driver (see Repository._driver).
# The ON CONFLICT predicate matches the partial unique index
# uq_conversations_open_per_guest_channel.
_OPEN = (
    "INSERT INTO conversations (tenant_id, guest_id, channel_id, status, first_message_at,"
    " last_message_at) VALUES ($1, $2, $3, 'new', $4, $4)"
    " ON CONFLICT (tenant_id, guest_id, channel_id)"
    " WHERE status NOT IN ('resolved', 'closed') DO NOTHING RETURNING id"
)
_RAISE_PRIORITY = (
    "UPDATE conversations SET priority = $3, updated_at = now()"
    " WHERE tenant_id = $1 AND id = $2 AND priority = ANY($4::text[])"
)
_FIND_OPEN = (
    "SELECT id, reservation_id FROM conversations"
    " WHERE tenant_id = $1 AND guest_id = $2 AND channel_id = $3"
    " AND status NOT IN ('resolved', 'closed')"
)
_RECORD_INBOUND = (
    "UPDATE conversations SET last_message_at = greatest(last_message_at, $3),"
    " first_message_at = coalesce(first_message_at, $3),"
    " status = CASE WHEN status IN ('snoozed', 'pending') THEN 'open' ELSE status END,"
    " updated_at = now() WHERE tenant_id = $1 AND id = $2"
)
_LINK_RESERVATION = (
    "UPDATE conversations SET reservation_id = $3, updated_at = now()"
    " WHERE tenant_id = $1 AND id = $2 AND reservation_id IS NULL"
)


@dataclass(frozen=True, slots=True)
class OpenConversation:
    """The conversation an inbound message joins."""

    id: UUID
    reservation_id: UUID | None


class ConversationRepository(Repository):
    async def get(self, *, conversation_id: UUID, for_update: bool = False) -> Conversation | None:
        return await self._get(Conversation, conversation_id, for_update=for_update)

    async def find_or_open(
        self, *, guest_id: UUID, channel_id: UUID, at: datetime
    ) -> tuple[OpenConversation, bool]:
        """The open conversation of this guest on this channel, opened if there is none.

        Returns ``(conversation, opened)``. Race-free: the partial unique index lets one
        INSERT win; the others do nothing and read the winner's row. Every inbound message
        makes this call, so it is SQL through the driver.
        """
        driver = await self._driver()
        for _ in range(_ATTEMPTS):
            opened = await driver.fetchval(_OPEN, self.tenant_id, guest_id, channel_id, at)
            if opened is not None:
                return OpenConversation(id=opened, reservation_id=None), True
            existing = await driver.fetchrow(_FIND_OPEN, self.tenant_id, guest_id, channel_id)
            if existing is not None:  # closed between the two statements: try again
                return OpenConversation(id=existing[0], reservation_id=existing[1]), False
        raise RuntimeError("conversation kept closing while being opened")

    async def record_inbound(self, *, conversation_id: UUID, at: datetime) -> None:
        """A guest wrote: reopen a snoozed or pending conversation and move last_message_at."""
        driver = await self._driver()
        await driver.execute(_RECORD_INBOUND, self.tenant_id, conversation_id, at)

    async def record_response(self, *, conversation_id: UUID, at: datetime) -> None:
        """Staff or the assistant answered: first_response_at is set once."""
        await self.session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == self.tenant_id, Conversation.id == conversation_id)
            .values(
                first_response_at=func.coalesce(Conversation.first_response_at, at),
                last_message_at=func.greatest(Conversation.last_message_at, at),
                updated_at=func.now(),
            )
        )

    async def link_reservation(self, *, conversation_id: UUID, reservation_id: UUID) -> None:
        """Attach the stay the guest wrote about, unless one is attached already."""
        driver = await self._driver()
        await driver.execute(_LINK_RESERVATION, self.tenant_id, conversation_id, reservation_id)

    async def raise_priority(self, *, conversation_id: UUID, priority: str) -> None:
        """Raise the priority (never lower it: an urgent conversation stays urgent)."""
        if priority not in PRIORITIES:
            raise ValueError(f"unknown priority {priority!r}")
        lower = list(PRIORITIES[: PRIORITIES.index(priority)])
        driver = await self._driver()
        await driver.execute(_RAISE_PRIORITY, self.tenant_id, conversation_id, priority, lower)

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
        if status in ("resolved", "closed"):
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
