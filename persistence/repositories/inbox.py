"""The staff inbox's reads and writes: conversations filtered within a caller's scope and paged
by a keyset cursor, their messages, tags, notes, and the rows the inbox actions change."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Text,
    and_,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import aliased

from domain.inbox import Scope
from persistence.models import (
    CannedResponse,
    Channel,
    Conversation,
    ConversationEvent,
    ConversationNote,
    ConversationTag,
    Guest,
    Message,
    StaffAlertTarget,
    StaffNotification,
    Tag,
    Team,
    TeamMembership,
    User,
)
from persistence.models.conversations import Direction, MessageStatus, SenderType
from persistence.models.notifications import NotificationStatus
from persistence.repositories.base import Repository
from persistence.repositories.messages import once_per_provider_message
from persistence.statements import Compiled, param, table_of

messages = table_of(Message)
notifications = table_of(StaffNotification)
alert_targets = table_of(StaffAlertTarget)

# Intake, for each message staff sent outside frontdesk (a provider's echo), asks whether it
# is frontdesk's own send or a staff alert, stores it, and cancels the drafted auto-replies.
_ALERT_ADDRESSES = Compiled.of(
    select(alert_targets.c.address).where(
        alert_targets.c.tenant_id == param("tenant_id"),
        alert_targets.c.channel_id == param("channel_id"),
        alert_targets.c.address.is_not(None),
    )
)
_SENDING_NOW = Compiled.of(
    select(
        exists().where(
            messages.c.tenant_id == param("tenant_id"),
            messages.c.conversation_id == param("conversation_id"),
            messages.c.direction == Direction.OUTBOUND,
            messages.c.status.in_([MessageStatus.SENDING, MessageStatus.UNCERTAIN]),
            # A message without text is compared as one (``=`` would never match it).
            messages.c.content.is_not_distinct_from(param("content", Text)),
        )
    )
)
_ADD_OBSERVED = Compiled.of(
    once_per_provider_message(
        insert(messages).values(
            id=func.gen_random_uuid(),
            tenant_id=param("tenant_id"),
            conversation_id=param("conversation_id"),
            channel_id=param("channel_id"),
            direction=Direction.OUTBOUND,
            sender_type=SenderType.STAFF,
            content_type=param("content_type"),
            content=param("content"),
            status=MessageStatus.SENT,
            provider_message_id=param("provider_message_id"),
            send_after=param("sent_at"),
            sent_at=param("sent_at"),
        )
    ).returning(messages.c.id)
)
_CANCEL_BOT_DRAFTS = Compiled.of(
    update(messages)
    .where(
        messages.c.tenant_id == param("tenant_id"),
        messages.c.conversation_id == param("conversation_id"),
        messages.c.direction == Direction.OUTBOUND,
        messages.c.sender_type == SenderType.BOT,
        messages.c.status == MessageStatus.PENDING,
    )
    .values(status=MessageStatus.CANCELLED, error=param("reason"), updated_at=func.now())
    .returning(messages.c.id)
)
# Escalation, when staff reply or close the conversation: they are on it.
_ACKNOWLEDGE_OPEN = Compiled.of(
    update(notifications)
    .where(
        notifications.c.tenant_id == param("tenant_id"),
        notifications.c.conversation_id == param("conversation_id"),
        notifications.c.status != NotificationStatus.ACKNOWLEDGED,
    )
    .values(
        status=NotificationStatus.ACKNOWLEDGED,
        acknowledged_at=param("at"),
        acknowledged_by=param("by"),
        next_alert_at=null(),
        updated_at=func.now(),
    )
    .returning(notifications.c.id)
)

# Sorts a conversation nobody wrote in yet after every other one.
_NEVER = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    statuses: Sequence[str] = ()
    priorities: Sequence[str] = ()
    assignee_id: UUID | None = None
    unassigned: bool = False
    team_id: UUID | None = None
    channel_id: UUID | None = None
    property_id: UUID | None = None
    requires_attention: bool | None = None
    tag: str | None = None
    updated_since: datetime | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationRow:
    """One conversation of an inbox listing, with its guest, channel and tags."""

    conversation: Conversation
    guest_name: str | None
    channel_provider: str
    channel_name: str
    property_id: UUID
    requires_attention: bool
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ConversationPage:
    rows: list[ConversationRow]
    total: int
    next_after: tuple[datetime, UUID] | None


def visible_to(scope: Scope) -> ColumnElement[bool]:
    """The conversations ``scope`` may see (``domain.inbox``), as a condition on them."""
    if scope.everything:
        return true()
    mine = Conversation.assignee_id == scope.user_id
    if not scope.team_ids:
        return mine
    in_team = Conversation.team_id.in_(scope.team_ids)
    if scope.whole_teams:
        return or_(mine, in_team)
    return or_(mine, and_(in_team, Conversation.assignee_id.is_(None)))


def _escaped(words: str) -> str:
    return words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class StaffInboxRepository(Repository):
    async def team_ids(self, *, user_id: UUID) -> list[UUID]:
        statement = select(TeamMembership.team_id).where(
            TeamMembership.tenant_id == self.tenant_id, TeamMembership.user_id == user_id
        )
        return list((await self.session.execute(statement)).scalars())

    def _visible(self, scope: Scope) -> ColumnElement[bool]:
        return visible_to(scope)

    def _attention(self) -> ColumnElement[bool]:
        """An unacknowledged staff notification, or a flagged guest message staff have not
        answered since."""
        notified = exists().where(
            StaffNotification.tenant_id == Conversation.tenant_id,
            StaffNotification.conversation_id == Conversation.id,
            StaffNotification.status != NotificationStatus.ACKNOWLEDGED,
        )
        guest_message, staff_message = aliased(Message), aliased(Message)
        answered = exists().where(
            staff_message.tenant_id == guest_message.tenant_id,
            staff_message.conversation_id == guest_message.conversation_id,
            staff_message.sender_type == SenderType.STAFF,
            staff_message.created_at > guest_message.created_at,
        )
        flagged = exists().where(
            guest_message.tenant_id == Conversation.tenant_id,
            guest_message.conversation_id == Conversation.id,
            guest_message.direction == Direction.INBOUND,
            guest_message.requires_attention.is_(True),
            ~answered,
        )
        return or_(notified, flagged)

    def _conditions(self, scope: Scope, wanted: ConversationFilter) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = [
            Conversation.tenant_id == self.tenant_id,
            self._visible(scope),
        ]
        if wanted.statuses:
            conditions.append(Conversation.status.in_(wanted.statuses))
        if wanted.priorities:
            conditions.append(Conversation.priority.in_(wanted.priorities))
        if wanted.unassigned:
            conditions.append(Conversation.assignee_id.is_(None))
        elif wanted.assignee_id is not None:
            conditions.append(Conversation.assignee_id == wanted.assignee_id)
        if wanted.team_id is not None:
            conditions.append(Conversation.team_id == wanted.team_id)
        if wanted.channel_id is not None:
            conditions.append(Conversation.channel_id == wanted.channel_id)
        if wanted.property_id is not None:
            conditions.append(Channel.property_id == wanted.property_id)
        if wanted.requires_attention is not None:
            attention = self._attention()
            conditions.append(attention if wanted.requires_attention else ~attention)
        if wanted.tag is not None:
            conditions.append(
                exists().where(
                    ConversationTag.tenant_id == Conversation.tenant_id,
                    ConversationTag.conversation_id == Conversation.id,
                    Tag.tenant_id == ConversationTag.tenant_id,
                    Tag.id == ConversationTag.tag_id,
                    Tag.name == wanted.tag,
                )
            )
        if wanted.updated_since is not None:
            conditions.append(Conversation.updated_at >= wanted.updated_since)
        if wanted.text:
            conditions.append(
                exists().where(
                    Message.tenant_id == Conversation.tenant_id,
                    Message.conversation_id == Conversation.id,
                    Message.content.ilike(f"%{_escaped(wanted.text)}%", escape="\\"),
                )
            )
        return conditions

    async def list_conversations(
        self,
        *,
        scope: Scope,
        wanted: ConversationFilter,
        limit: int,
        after: tuple[datetime, UUID] | None = None,
    ) -> ConversationPage:
        """The conversations ``scope`` sees matching ``wanted``, latest message first, and how
        many match in all; ``after`` continues from a page's last (sort key, id)."""
        conditions = self._conditions(scope, wanted)
        joined = select(Conversation).join(
            Channel,
            and_(
                Channel.tenant_id == Conversation.tenant_id, Channel.id == Conversation.channel_id
            ),
        )
        total = await self.session.scalar(joined.with_only_columns(func.count()).where(*conditions))
        sort_key = func.coalesce(Conversation.last_message_at, literal(_NEVER))
        statement = (
            joined.add_columns(
                Guest.full_name,
                Channel.provider,
                Channel.name,
                Channel.property_id,
                self._attention().label("attention"),
                sort_key.label("sort_key"),
            )
            .join(
                Guest,
                and_(Guest.tenant_id == Conversation.tenant_id, Guest.id == Conversation.guest_id),
            )
            .where(*conditions)
            .order_by(sort_key.desc(), Conversation.id.desc())
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(
                tuple_(sort_key, Conversation.id) < tuple_(literal(after[0]), literal(after[1]))
            )
        found = (await self.session.execute(statement)).all()
        page = found[:limit]
        tags = await self.tags_of(conversation_ids=[row[0].id for row in page])
        rows = [
            ConversationRow(
                conversation=row[0],
                guest_name=row[1],
                channel_provider=row[2],
                channel_name=row[3],
                property_id=row[4],
                requires_attention=bool(row[5]),
                tags=tags.get(row[0].id, []),
            )
            for row in page
        ]
        next_after = (page[-1][6], page[-1][0].id) if len(found) > limit else None
        return ConversationPage(rows=rows, total=int(total or 0), next_after=next_after)

    async def requires_attention(self, *, conversation_id: UUID) -> bool:
        statement = select(self._attention()).where(
            Conversation.tenant_id == self.tenant_id, Conversation.id == conversation_id
        )
        return bool(await self.session.scalar(statement))

    async def tags_of(self, *, conversation_ids: Sequence[UUID]) -> dict[UUID, list[str]]:
        if not conversation_ids:
            return {}
        statement = (
            select(ConversationTag.conversation_id, Tag.name)
            .join(
                Tag,
                and_(Tag.tenant_id == ConversationTag.tenant_id, Tag.id == ConversationTag.tag_id),
            )
            .where(
                ConversationTag.tenant_id == self.tenant_id,
                ConversationTag.conversation_id.in_(conversation_ids),
            )
            .order_by(Tag.name)
        )
        tags: dict[UUID, list[str]] = {}
        for conversation_id, name in await self.session.execute(statement):
            tags.setdefault(conversation_id, []).append(name)
        return tags

    async def list_messages(
        self, *, conversation_id: UUID, limit: int, after: tuple[datetime, UUID] | None = None
    ) -> tuple[list[Message], tuple[datetime, UUID] | None]:
        """A page of the conversation's messages, oldest first, and where the next page starts."""
        statement = (
            select(Message)
            .where(Message.tenant_id == self.tenant_id, Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
            .limit(limit + 1)
        )
        if after is not None:
            statement = statement.where(
                tuple_(Message.created_at, Message.id)
                > tuple_(literal(after[0]), literal(after[1]))
            )
        found = list((await self.session.execute(statement)).scalars())
        page = found[:limit]
        return page, ((page[-1].created_at, page[-1].id) if len(found) > limit else None)

    async def names(
        self, *, user_id: UUID | None, team_id: UUID | None
    ) -> tuple[str | None, str | None]:
        """The assignee's full name and the team's name."""
        user = await self._get(User, user_id) if user_id else None
        team = await self._get(Team, team_id) if team_id else None
        return (user.full_name if user else None, team.name if team else None)

    async def team(self, *, team_id: UUID) -> Team | None:
        return await self._get(Team, team_id)

    async def last_inbound_at(self, *, conversation_id: UUID) -> datetime | None:
        statement = select(func.max(Message.created_at)).where(
            Message.tenant_id == self.tenant_id,
            Message.conversation_id == conversation_id,
            Message.direction == Direction.INBOUND,
        )
        return await self.session.scalar(statement)

    async def canned_response(self, *, shortcut: str) -> CannedResponse | None:
        statement = select(CannedResponse).where(
            CannedResponse.tenant_id == self.tenant_id, CannedResponse.shortcut == shortcut
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def lock_key(self, *, key: str) -> None:
        """Serialise the requests carrying one Idempotency-Key (until the transaction ends)."""
        lock_key = f"{self.tenant_id}:reply:{key}"
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(lock_key, 0)))
        )

    async def find_by_idempotency_key(self, *, key: str) -> Message | None:
        statement = select(Message).where(
            Message.tenant_id == self.tenant_id, Message.idempotency_key == key
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def cancel_bot_drafts(self, *, conversation_id: UUID, reason: str) -> list[UUID]:
        """Cancel the conversation's drafted auto-replies (a row the dispatcher holds is waited
        for: it is ``sending`` by then and stays as it is)."""
        rows = await self.sql.rows(
            _CANCEL_BOT_DRAFTS,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            reason=reason,
        )
        return [row[0] for row in rows]

    async def sending_now(self, *, conversation_id: UUID, content: str | None) -> bool:
        """Whether frontdesk itself is sending (or lost the outcome of sending) this text in
        the conversation: the provider's echo of it is frontdesk's own message."""
        found = await self.sql.value(
            _SENDING_NOW, tenant_id=self.tenant_id, conversation_id=conversation_id, content=content
        )
        return bool(found)

    async def alert_addresses(self, *, channel_id: UUID) -> set[str]:
        """Where staff alerts go through this channel (staff phones and chats, not guests)."""
        rows = await self.sql.rows(
            _ALERT_ADDRESSES, tenant_id=self.tenant_id, channel_id=channel_id
        )
        return {str(row[0]) for row in rows}

    async def add_observed(
        self,
        *,
        conversation_id: UUID,
        channel_id: UUID,
        provider_message_id: str,
        content_type: str,
        content: str | None,
        sent_at: datetime,
    ) -> UUID | None:
        """Store a message staff sent outside frontdesk as sent; None if this provider message
        id is stored already (frontdesk's own send, or the same echo again)."""
        found: UUID | None = await self.sql.value(
            _ADD_OBSERVED,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            channel_id=channel_id,
            content_type=content_type,
            content=content,
            provider_message_id=provider_message_id,
            sent_at=sent_at,
        )
        return found

    async def set_priority(
        self, *, conversation: Conversation, priority: str, actor_user_id: UUID | None
    ) -> None:
        previous = conversation.priority
        conversation.priority = priority
        self.record(conversation.id, "priority", previous, priority, actor_user_id)
        await self.session.flush()

    def record(
        self,
        conversation_id: UUID,
        kind: str,
        from_value: str | None,
        to_value: str | None,
        actor_user_id: UUID | None,
    ) -> None:
        """Stage one row of the conversation's audit trail, by the staff member (or system)."""
        self._stage(
            ConversationEvent(
                tenant_id=self.tenant_id,
                conversation_id=conversation_id,
                kind=kind,
                from_value=from_value,
                to_value=to_value,
                actor_type="staff" if actor_user_id else "system",
                actor_user_id=actor_user_id,
            )
        )

    async def add_tag(self, *, conversation_id: UUID, name: str) -> bool:
        """Tag the conversation (the tag is made on first use); False if it had the tag."""
        await self.session.execute(
            insert(Tag)
            .values(tenant_id=self.tenant_id, name=name)
            .on_conflict_do_nothing(index_elements=["tenant_id", "name"])
        )
        tag_id = await self.session.scalar(
            select(Tag.id).where(Tag.tenant_id == self.tenant_id, Tag.name == name)
        )
        added = await self.session.execute(
            insert(ConversationTag)
            .values(tenant_id=self.tenant_id, conversation_id=conversation_id, tag_id=tag_id)
            .on_conflict_do_nothing(index_elements=["tenant_id", "conversation_id", "tag_id"])
            .returning(ConversationTag.id)
        )
        return added.scalar_one_or_none() is not None

    async def remove_tag(self, *, conversation_id: UUID, name: str) -> bool:
        tag_ids = select(Tag.id).where(Tag.tenant_id == self.tenant_id, Tag.name == name)
        removed = await self.session.execute(
            delete(ConversationTag)
            .where(
                ConversationTag.tenant_id == self.tenant_id,
                ConversationTag.conversation_id == conversation_id,
                ConversationTag.tag_id.in_(tag_ids.scalar_subquery()),
            )
            .returning(ConversationTag.id)
        )
        return removed.scalar_one_or_none() is not None

    async def add_note(
        self, *, conversation_id: UUID, author_id: UUID | None, body: str
    ) -> ConversationNote:
        note = ConversationNote(
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            author_id=author_id,
            body=body,
        )
        self._stage(note)
        await self.session.flush()
        return note

    async def list_notes(self, *, conversation_id: UUID) -> list[ConversationNote]:
        statement = (
            select(ConversationNote)
            .where(
                ConversationNote.tenant_id == self.tenant_id,
                ConversationNote.conversation_id == conversation_id,
            )
            .order_by(ConversationNote.created_at, ConversationNote.id)
        )
        return list((await self.session.execute(statement)).scalars())

    async def acknowledge_open(
        self, *, conversation_id: UUID, by: UUID | None, at: datetime
    ) -> list[UUID]:
        """Acknowledge every open notification of the conversation (staff are on it)."""
        rows = await self.sql.rows(
            _ACKNOWLEDGE_OPEN,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            at=at,
            by=by,
        )
        return [row[0] for row in rows]


__all__ = ["ConversationFilter", "ConversationPage", "ConversationRow", "StaffInboxRepository"]
