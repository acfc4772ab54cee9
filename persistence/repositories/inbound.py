"""Inbound messages: a guest's message stored once, edited, scored, and decided on.

Intake stores the message (``add``: the provider's message id makes a retried webhook a no-op)
with its media, or puts a guest's edit on it (``apply_edit``, ``withdraw_answer``); the
sentiment consumer reads and scores it (``scoring_input``, ``set_sentiment``); autoreply reads
what deciding needs in one round trip (``reply_input``) and writes what it decided
(``record_decision``). Every statement here is made for every guest message, so each is
compiled once (``persistence.statements``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import and_, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models import (
    AiSettings,
    Channel,
    Conversation,
    Guest,
    MediaFile,
    Message,
    Property,
)
from persistence.models.conversations import Direction, MessageStatus, SenderType
from persistence.repositories.base import Repository
from persistence.repositories.messages import once_per_provider_message
from persistence.statements import Compiled, param, table_of

messages = table_of(Message)
conversations = table_of(Conversation)
channels = table_of(Channel)
properties = table_of(Property)
guests = table_of(Guest)
ai_settings = table_of(AiSettings)
media_files = table_of(MediaFile)

# Stored "delivered" (to frontdesk); a provider message id stored before makes it a no-op.
_ADD = Compiled.of(
    once_per_provider_message(
        insert(messages).values(
            id=param("id"),
            tenant_id=param("tenant_id"),
            conversation_id=param("conversation_id"),
            channel_id=param("channel_id"),
            direction=Direction.INBOUND,
            sender_type=SenderType.GUEST,
            content_type=param("content_type"),
            content=param("content"),
            subject=param("subject"),
            status=MessageStatus.DELIVERED,
            provider_message_id=param("provider_message_id"),
            source_event_id=param("source_event_id"),
            sent_at=param("sent_at"),
            edited_at=param("edited_at"),
        )
    ).returning(messages.c.id)
)
_ATTACH_MEDIA = Compiled.of(
    insert(media_files).values(
        id=param("id"),
        tenant_id=param("tenant_id"),
        message_id=param("message_id"),
        url=param("url"),
        mime_type=param("mime_type"),
        file_name=param("file_name"),
        caption=param("caption"),
        size_bytes=param("size_bytes"),
    )
)


def _edited_target() -> Compiled:
    m = messages.alias("m")
    c = conversations.alias("c")
    return Compiled.of(
        select(
            m.c.id, m.c.conversation_id, c.c.guest_id, m.c.edited_at, m.c.ai_decision.is_not(None)
        )
        .select_from(m.join(c, and_(c.c.tenant_id == m.c.tenant_id, c.c.id == m.c.conversation_id)))
        .where(
            m.c.tenant_id == param("tenant_id"),
            m.c.channel_id == param("channel_id"),
            m.c.provider_message_id == param("provider_message_id"),
            m.c.direction == Direction.INBOUND,
        )
        .with_for_update(of=m)
    )


_EDITED_TARGET = _edited_target()
_APPLY_EDIT = Compiled.of(
    update(messages)
    .values(content=param("content"), edited_at=param("edited_at"), updated_at=func.now())
    .where(messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id"))
)


def _cancel_drafts() -> Compiled:
    """Drafted replies to the edited message that the dispatcher does not hold (a locked row is
    being sent right now) are dropped: they answer words the guest took back."""
    drafts = (
        select(messages.c.id)
        .where(
            messages.c.tenant_id == param("tenant_id"),
            messages.c.in_reply_to_id == param("message_id"),
            messages.c.direction == Direction.OUTBOUND,
            messages.c.status == MessageStatus.PENDING,
        )
        .with_for_update(skip_locked=True)
    )
    return Compiled.of(
        update(messages)
        .values(
            status=MessageStatus.CANCELLED,
            error="the guest edited the message",
            updated_at=func.now(),
        )
        .where(messages.c.tenant_id == param("tenant_id"), messages.c.id.in_(drafts))
    )


_CANCEL_DRAFTS = _cancel_drafts()


def _answered() -> Compiled:
    """Whether an outbound message since the guest's (other than a cancelled or failed one)
    answers it."""
    o = messages.alias("o")
    m = messages.alias("m")
    since = (
        exists()
        .select_from(o.join(m, and_(m.c.tenant_id == o.c.tenant_id, m.c.id == param("message_id"))))
        .where(
            o.c.tenant_id == param("tenant_id"),
            o.c.conversation_id == m.c.conversation_id,
            o.c.direction == Direction.OUTBOUND,
            o.c.created_at >= m.c.created_at,
            o.c.status.not_in([MessageStatus.CANCELLED, MessageStatus.FAILED]),
        )
    )
    return Compiled.of(select(since))


_ANSWERED = _answered()


def _scoring_input() -> Compiled:
    settings = and_(ai_settings.c.tenant_id == messages.c.tenant_id)
    return Compiled.of(
        select(messages.c.content, ai_settings.c.negative_sentiment_threshold)
        .select_from(messages.outerjoin(ai_settings, settings))
        .where(messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id"))
    )


_SCORING_INPUT = _scoring_input()
_SET_SENTIMENT = Compiled.of(
    update(messages)
    .values(
        sentiment_score=param("score"),
        sentiment_label=param("label"),
        requires_attention=param("requires_attention"),
        updated_at=func.now(),
    )
    .where(messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id"))
)


def _reply_input() -> Compiled:
    m, c, ch, p, g = messages, conversations, channels, properties, guests
    joined = (
        m.join(c, and_(c.c.tenant_id == m.c.tenant_id, c.c.id == param("conversation_id")))
        .join(ch, and_(ch.c.tenant_id == c.c.tenant_id, ch.c.id == c.c.channel_id))
        .outerjoin(p, and_(p.c.tenant_id == ch.c.tenant_id, p.c.id == ch.c.property_id))
        .outerjoin(g, and_(g.c.tenant_id == c.c.tenant_id, g.c.id == c.c.guest_id))
    )
    return Compiled.of(
        select(
            m.c.content,
            c.c.human_takeover,
            c.c.channel_id,
            c.c.guest_id,
            p.c.timezone,
            g.c.full_name,
        )
        .select_from(joined)
        .where(m.c.tenant_id == param("tenant_id"), m.c.id == param("message_id"))
    )


_REPLY_INPUT = _reply_input()
_RECORD_DECISION = Compiled.of(
    update(messages)
    .values(
        ai_decision=param("decision"),
        ai_decision_reason=param("reason"),
        ai_decided_at=param("at"),
        updated_at=func.now(),
    )
    .where(messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id"))
)


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """An inbound message as stored."""

    id: UUID


@dataclass(frozen=True, slots=True)
class EditedMessage:
    """A stored inbound message an edit names; ``applied`` is False when a later edit is
    already stored; ``decided`` says whether auto-reply had decided on it."""

    id: UUID
    conversation_id: UUID
    guest_id: UUID
    applied: bool
    decided: bool


@dataclass(frozen=True, slots=True)
class ScoringInput:
    """What the sentiment consumer reads for one message."""

    content: str | None
    negative_threshold: Decimal | None  # None when the tenant has no AI settings row


@dataclass(frozen=True, slots=True)
class ReplyInput:
    """What the auto-reply consumer reads for one message, in one round trip."""

    message_id: UUID
    content: str | None
    conversation_id: UUID
    human_takeover: bool
    channel_id: UUID
    guest_id: UUID
    guest_name: str | None
    timezone: str | None  # the property's


class InboundRepository(Repository):
    async def add(
        self,
        *,
        conversation_id: UUID,
        channel_id: UUID,
        provider_message_id: str,
        content_type: str = "text",
        content: str | None = None,
        subject: str | None = None,
        source_event_id: UUID | None = None,
        sent_at: datetime | None = None,
        edited_at: datetime | None = None,
    ) -> StoredMessage | None:
        """Store a guest's message; None if this provider message id was stored before."""
        stored = await self.sql.value(
            _ADD,
            id=uuid4(),
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            channel_id=channel_id,
            content_type=content_type,
            content=content,
            subject=subject,
            provider_message_id=provider_message_id,
            source_event_id=source_event_id,
            sent_at=sent_at,
            edited_at=edited_at,
        )
        return None if stored is None else StoredMessage(id=stored)

    async def attach_media(
        self,
        *,
        message_id: UUID,
        url: str,
        mime_type: str | None = None,
        file_name: str | None = None,
        caption: str | None = None,
        size_bytes: int | None = None,
    ) -> None:
        await self.sql.run(
            _ATTACH_MEDIA,
            id=uuid4(),
            tenant_id=self.tenant_id,
            message_id=message_id,
            url=url,
            mime_type=mime_type,
            file_name=file_name,
            caption=caption,
            size_bytes=size_bytes,
        )

    async def apply_edit(
        self,
        *,
        channel_id: UUID,
        provider_message_id: str,
        content: str | None,
        edited_at: datetime,
    ) -> EditedMessage | None:
        """Put a guest's edit on the inbound message it names, unless a later edit is stored;
        None if no such message was stored (yet)."""
        row = await self.sql.row(
            _EDITED_TARGET,
            tenant_id=self.tenant_id,
            channel_id=channel_id,
            provider_message_id=provider_message_id,
        )
        if row is None:
            return None
        message_id, conversation_id, guest_id, last_edit, decided = row
        applied = last_edit is None or last_edit < edited_at
        if applied:
            await self.sql.run(
                _APPLY_EDIT,
                tenant_id=self.tenant_id,
                message_id=message_id,
                content=content,
                edited_at=edited_at,
            )
        return EditedMessage(message_id, conversation_id, guest_id, applied, decided)

    async def withdraw_answer(self, *, message_id: UUID) -> bool:
        """Cancel the drafted replies to an inbound message; True if it is still unanswered
        (no outbound message since it, other than cancelled or failed ones)."""
        await self.sql.run(_CANCEL_DRAFTS, tenant_id=self.tenant_id, message_id=message_id)
        answered = await self.sql.value(_ANSWERED, tenant_id=self.tenant_id, message_id=message_id)
        return not answered

    async def scoring_input(self, *, message_id: UUID) -> ScoringInput | None:
        """The message's text and the tenant's negative-sentiment threshold; None if there is
        no such message."""
        row = await self.sql.row(_SCORING_INPUT, tenant_id=self.tenant_id, message_id=message_id)
        return None if row is None else ScoringInput(row[0], row[1])

    async def set_sentiment(
        self, *, message_id: UUID, score: float, label: str, requires_attention: bool
    ) -> None:
        await self.sql.run(
            _SET_SENTIMENT,
            tenant_id=self.tenant_id,
            message_id=message_id,
            score=Decimal(str(round(score, 3))),
            label=label,
            requires_attention=requires_attention,
        )

    async def reply_input(self, *, message_id: UUID, conversation_id: UUID) -> ReplyInput | None:
        """The message, its conversation, the guest and the property's time zone; None if the
        message or the conversation does not exist."""
        row = await self.sql.row(
            _REPLY_INPUT,
            tenant_id=self.tenant_id,
            message_id=message_id,
            conversation_id=conversation_id,
        )
        if row is None:
            return None
        content, takeover, channel_id, guest_id, timezone, guest_name = row
        return ReplyInput(
            message_id=message_id,
            content=content,
            conversation_id=conversation_id,
            human_takeover=takeover,
            channel_id=channel_id,
            guest_id=guest_id,
            guest_name=guest_name,
            timezone=timezone,
        )

    async def record_decision(
        self, *, message_id: UUID, decision: str, reason: str, at: datetime
    ) -> None:
        """Write what the assistant decided for an inbound message, and why."""
        await self.sql.run(
            _RECORD_DECISION,
            tenant_id=self.tenant_id,
            message_id=message_id,
            decision=decision,
            reason=reason[:2000],
            at=at,
        )
