"""Messages of either direction, read: one by id, one by the provider's id, a conversation's
latest. Writing them is ``inbound`` (a guest's) and ``outbound`` (a reply's)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Insert

from persistence.models import Message
from persistence.models.conversations import Direction, MessageStatus, SenderType
from persistence.repositories.base import Repository
from persistence.statements import Compiled, Row, param, table_of

messages = table_of(Message)


def once_per_provider_message(statement: Insert) -> Insert:
    """``statement`` (an insert into messages) doing nothing when the channel has stored a
    message with the same provider message id already: a provider's retry, or a status echo of
    what was stored, is one message (the partial unique index on tenant, channel and that id)."""
    return statement.on_conflict_do_nothing(
        index_elements=[
            messages.c.tenant_id,
            messages.c.channel_id,
            messages.c.provider_message_id,
        ],
        index_where=messages.c.provider_message_id.is_not(None),
    )


_COLUMNS = (
    messages.c.id,
    messages.c.conversation_id,
    messages.c.channel_id,
    messages.c.direction,
    messages.c.sender_type,
    messages.c.content_type,
    messages.c.content,
    messages.c.status,
    messages.c.error,
    messages.c.provider_message_id,
    messages.c.sentiment_score,
    messages.c.sentiment_label,
    messages.c.requires_attention,
    messages.c.ai_decision,
    messages.c.created_at,
)
_GET = Compiled.of(
    select(*_COLUMNS).where(
        messages.c.tenant_id == param("tenant_id"), messages.c.id == param("message_id")
    )
)
_BY_PROVIDER_ID = Compiled.of(
    select(*_COLUMNS).where(
        messages.c.tenant_id == param("tenant_id"),
        messages.c.channel_id == param("channel_id"),
        messages.c.provider_message_id == param("provider_message_id"),
    )
)
_RECENT = Compiled.of(
    select(*_COLUMNS)
    .where(
        messages.c.tenant_id == param("tenant_id"),
        messages.c.conversation_id == param("conversation_id"),
    )
    .order_by(messages.c.created_at.desc(), messages.c.id.desc())
    .limit(param("limit"))
)


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A stored message, as those who read it back see it."""

    id: UUID
    conversation_id: UUID
    channel_id: UUID
    direction: Direction
    sender_type: SenderType
    content_type: str
    content: str | None
    status: MessageStatus
    error: str | None
    provider_message_id: str | None
    sentiment_score: Decimal | None
    sentiment_label: str | None
    requires_attention: bool
    ai_decision: str | None
    created_at: datetime

    @classmethod
    def of(cls, row: Row) -> MessageRecord:
        record = cls(*row)
        return replace(
            record,
            direction=Direction(record.direction),
            sender_type=SenderType(record.sender_type),
            status=MessageStatus(record.status),
        )


class MessageRepository(Repository):
    async def get(self, *, message_id: UUID) -> MessageRecord | None:
        row = await self.sql.row(_GET, tenant_id=self.tenant_id, message_id=message_id)
        return None if row is None else MessageRecord.of(row)

    async def find_by_provider_id(
        self, *, channel_id: UUID, provider_message_id: str
    ) -> MessageRecord | None:
        row = await self.sql.row(
            _BY_PROVIDER_ID,
            tenant_id=self.tenant_id,
            channel_id=channel_id,
            provider_message_id=provider_message_id,
        )
        return None if row is None else MessageRecord.of(row)

    async def list_recent(self, *, conversation_id: UUID, limit: int = 20) -> list[MessageRecord]:
        """The conversation's latest messages, oldest first."""
        rows = await self.sql.rows(
            _RECENT, tenant_id=self.tenant_id, conversation_id=conversation_id, limit=limit
        )
        return [MessageRecord.of(row) for row in reversed(rows)]
