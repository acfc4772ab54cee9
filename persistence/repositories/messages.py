"""Messages: inbound as received, outbound as drafted, delivery status moving forward only."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update

from domain.events import DeliveryStatus
from persistence.models import MediaFile, Message
from persistence.repositories.base import Repository
from persistence.repositories.service_levels import BOT_RESPONSE_MET

# Which statuses each status may follow: a late "sent" callback never undoes "delivered".
_PREDECESSORS: dict[DeliveryStatus, tuple[str, ...]] = {
    DeliveryStatus.PENDING: (),
    DeliveryStatus.SENT: ("pending",),
    DeliveryStatus.DELIVERED: ("pending", "sent"),
    DeliveryStatus.READ: ("pending", "sent", "delivered"),
    DeliveryStatus.FAILED: ("pending", "sent"),
}
_STATUS_TIMES = {
    DeliveryStatus.SENT: "sent_at",
    DeliveryStatus.DELIVERED: "delivered_at",
    DeliveryStatus.READ: "read_at",
}


_SET_SENTIMENT = (
    "UPDATE messages SET sentiment_score = $3, sentiment_label = $4, requires_attention = $5,"
    " updated_at = now() WHERE tenant_id = $1 AND id = $2"
)
_RECORD_DECISION = (
    "UPDATE messages SET ai_decision = $3, ai_decision_reason = $4, ai_decided_at = $5,"
    " updated_at = now() WHERE tenant_id = $1 AND id = $2"
)
# Inbound rows arrived: "delivered" to frontdesk.
_ADD_INBOUND = (
    "INSERT INTO messages (tenant_id, conversation_id, channel_id, direction, sender_type,"
    " content_type, content, subject, status, provider_message_id, source_event_id, sent_at,"
    " edited_at)"
    " VALUES ($1, $2, $3, 'inbound', 'guest', $4, $5, $6, 'delivered', $7, $8, $9, $10)"
    " ON CONFLICT (tenant_id, channel_id, provider_message_id)"
    " WHERE provider_message_id IS NOT NULL DO NOTHING RETURNING id"
)
_EDITED_TARGET = (
    "SELECT m.id, m.conversation_id, c.guest_id, m.edited_at, m.ai_decision IS NOT NULL"
    " FROM messages m JOIN conversations c"
    " ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
    " WHERE m.tenant_id = $1 AND m.channel_id = $2 AND m.provider_message_id = $3"
    " AND m.direction = 'inbound' FOR UPDATE OF m"
)
_APPLY_EDIT = (
    "UPDATE messages SET content = $3, edited_at = $4, updated_at = now()"
    " WHERE tenant_id = $1 AND id = $2"
)
# Drafted replies to the edited message that the dispatcher does not hold (a locked row is
# being sent right now) are dropped: they answer words the guest took back.
_CANCEL_DRAFTS = (
    "UPDATE messages SET status = 'cancelled', error = 'the guest edited the message',"
    " updated_at = now() WHERE tenant_id = $1 AND id IN (SELECT id FROM messages"
    " WHERE tenant_id = $1 AND in_reply_to_id = $2 AND direction = 'outbound'"
    " AND status = 'pending' FOR UPDATE SKIP LOCKED)"
)
_ANSWERED = (
    "SELECT EXISTS (SELECT 1 FROM messages o JOIN messages m"
    " ON m.tenant_id = o.tenant_id AND m.id = $2"
    " WHERE o.tenant_id = $1 AND o.conversation_id = m.conversation_id"
    " AND o.direction = 'outbound' AND o.created_at >= m.created_at"
    " AND o.status NOT IN ('cancelled', 'failed'))"
)
_SCORING_INPUT = (
    "SELECT m.content, s.negative_sentiment_threshold FROM messages m"
    " LEFT JOIN ai_settings s ON s.tenant_id = m.tenant_id"
    " WHERE m.tenant_id = $1 AND m.id = $2"
)
_REPLY_INPUT = (
    "SELECT m.content, c.human_takeover, c.channel_id, c.guest_id, p.timezone, g.full_name"
    " FROM messages m"
    " JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = $3"
    " JOIN channels ch ON ch.tenant_id = c.tenant_id AND ch.id = c.channel_id"
    " LEFT JOIN properties p ON p.tenant_id = ch.tenant_id AND p.id = ch.property_id"
    " LEFT JOIN guests g ON g.tenant_id = c.tenant_id AND g.id = c.guest_id"
    " WHERE m.tenant_id = $1 AND m.id = $2"
)
# The outbound send protocol's statements (the dispatcher makes them for every reply).
# Locks the due rows no other dispatcher holds and reads what deciding and sending each needs:
# the takeover, a staff message since the draft, the channel, the guest's first handle on the
# channel's provider and, on an e-mail channel, the guest's latest mail (a reply threads under
# it).
_CLAIM_DUE = (
    "SELECT m.id, m.conversation_id, m.channel_id, ch.public_id, m.sender_type, m.content,"
    " m.attempts, c.human_takeover,"
    " EXISTS (SELECT 1 FROM messages s WHERE s.tenant_id = m.tenant_id"
    " AND s.conversation_id = m.conversation_id AND s.sender_type = 'staff'"
    " AND s.created_at > m.created_at),"
    " (SELECT i.handle FROM guest_identities i WHERE i.tenant_id = c.tenant_id"
    " AND i.guest_id = c.guest_id AND i.kind = ch.provider ORDER BY i.created_at LIMIT 1),"
    " mail.found, mail.subject, mail.provider_message_id, m.options, ch.sends_per_second"
    " FROM messages m"
    " JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
    " LEFT JOIN channels ch ON ch.tenant_id = m.tenant_id AND ch.id = m.channel_id"
    " LEFT JOIN LATERAL (SELECT true AS found, g.subject, g.provider_message_id"
    " FROM messages g WHERE g.tenant_id = m.tenant_id AND g.conversation_id = m.conversation_id"
    " AND g.direction = 'inbound' AND ch.provider = 'email'"
    " ORDER BY g.created_at DESC, g.id DESC LIMIT 1) mail ON true"
    " WHERE m.tenant_id = $1 AND m.id = ANY($2::uuid[]) AND m.direction = 'outbound'"
    " AND m.status = 'pending' AND m.send_after <= now()"
    " FOR UPDATE OF m SKIP LOCKED"
)
_BEGIN_SENDS = (
    "UPDATE messages m SET status = 'sending', send_attempt_id = a.attempt_id,"
    " send_started_at = $4, attempts = m.attempts + 1, updated_at = now()"
    " FROM unnest($2::uuid[], $3::uuid[]) AS a(message_id, attempt_id)"
    " WHERE m.tenant_id = $1 AND m.id = a.message_id AND m.status = 'pending'"
    " RETURNING m.id"
)
_CLAIM_SENDING = (
    "SELECT m.conversation_id, m.channel_id, ch.public_id, m.content, m.send_started_at,"
    " (SELECT i.handle FROM guest_identities i WHERE i.tenant_id = c.tenant_id"
    " AND i.guest_id = c.guest_id AND i.kind = ch.provider ORDER BY i.created_at LIMIT 1)"
    " FROM messages m"
    " JOIN conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id"
    " LEFT JOIN channels ch ON ch.tenant_id = m.tenant_id AND ch.id = m.channel_id"
    " WHERE m.tenant_id = $1 AND m.id = $2 AND m.status = 'sending' AND m.send_attempt_id = $3"
    " FOR UPDATE OF m SKIP LOCKED"
)
# Settles the attempt as sent, answers the conversation (first_response_at set once; a bot's
# reply meets the SLA response targets where the policy counts it) and audits the send, in one
# round trip. A provider id another message of the channel already
# has is left out (the clash noted in ``error``), so recording cannot fail on it.
_RECORD_SENT = "".join(
    (
        "WITH clash AS (SELECT EXISTS (SELECT 1 FROM messages o WHERE o.tenant_id = $1"
        " AND o.channel_id = $7 AND o.provider_message_id = $4 AND o.id <> $2) AS taken),"
        " sent AS (UPDATE messages m SET status = 'sent', sent_at = coalesce(m.sent_at, $5),"
        " provider_message_id = CASE WHEN clash.taken THEN NULL ELSE $4 END,"
        " error = CASE WHEN clash.taken THEN $6 END, updated_at = now() FROM clash"
        " WHERE m.tenant_id = $1 AND m.id = $2 AND m.status = 'sending'"
        " AND m.send_attempt_id = $3"
        " RETURNING m.conversation_id, m.provider_message_id, m.sender_type),"
        " answered AS (UPDATE conversations c SET"
        " first_response_at = coalesce(c.first_response_at, $5),"
        " last_message_at = greatest(c.last_message_at, $5), ",
        BOT_RESPONSE_MET,
        ", updated_at = now()"
        " FROM sent WHERE c.tenant_id = $1 AND c.id = sent.conversation_id),"
        " audit AS (INSERT INTO comms_events (tenant_id, channel_id, message_id, provider,"
        " direction, kind, provider_message_id, payload)"
        " SELECT $1, $7, $2, $8, 'outbound', 'send', sent.provider_message_id, $9::jsonb"
        " FROM sent)"
        " SELECT provider_message_id FROM sent",
    )
)
# Settles the attempt another way: pending again later, failed, or uncertain.
_SETTLE_ATTEMPT = (
    "UPDATE messages SET status = $4, error = $5, send_after = coalesce($6, send_after),"
    " updated_at = now()"
    " WHERE tenant_id = $1 AND id = $2 AND status = 'sending' AND send_attempt_id = $3"
    " RETURNING id"
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
class SentRecord:
    """A send recorded as sent; ``provider_message_id`` is None when it clashed."""

    provider_message_id: str | None


@dataclass(frozen=True, slots=True)
class InboundReference:
    """The guest message a reply answers."""

    subject: str | None
    provider_message_id: str | None


@dataclass(frozen=True, slots=True)
class DueSend:
    """A due outbound message locked for sending, with what deciding and sending it needs."""

    id: UUID
    conversation_id: UUID
    channel_id: UUID
    channel_public_id: UUID | None  # None if the channel is gone
    sender_type: str
    content: str | None
    attempts: int
    human_takeover: bool
    staff_replied: bool  # staff wrote in the conversation after this message was drafted
    guest_handle: str | None  # the guest's handle on the channel's provider
    answers: InboundReference | None  # on e-mail, the guest's latest mail
    options: tuple[tuple[str, str], ...] = ()  # a bot question's (value, label) options
    sends_per_second: float | None = None  # the channel's own send rate (None: the provider's)


@dataclass(frozen=True, slots=True)
class InterruptedSend:
    """A message still ``sending`` under an attempt, locked to settle what became of it."""

    conversation_id: UUID
    channel_id: UUID
    channel_public_id: UUID | None
    content: str | None
    send_started_at: datetime | None
    guest_handle: str | None


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


class MessageRepository(Repository):
    async def get(self, *, message_id: UUID) -> Message | None:
        return await self._get(Message, message_id)

    async def scoring_input(self, *, message_id: UUID) -> ScoringInput | None:
        """The message's text and the tenant's negative-sentiment threshold; None if there is
        no such message."""
        driver = await self._driver()
        row = await driver.fetchrow(_SCORING_INPUT, self.tenant_id, message_id)
        return None if row is None else ScoringInput(row[0], row[1])

    async def reply_input(self, *, message_id: UUID, conversation_id: UUID) -> ReplyInput | None:
        """The message, its conversation, the guest and the property's time zone; None if the
        message or the conversation does not exist."""
        driver = await self._driver()
        row = await driver.fetchrow(_REPLY_INPUT, self.tenant_id, message_id, conversation_id)
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

    async def find_by_provider_id(
        self, *, channel_id: UUID, provider_message_id: str
    ) -> Message | None:
        statement = select(Message).where(
            Message.tenant_id == self.tenant_id,
            Message.channel_id == channel_id,
            Message.provider_message_id == provider_message_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_inbound(
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
        """Store a guest's message; None if this provider message id was stored before.

        Every inbound message makes this call, so it is SQL through the driver."""
        driver = await self._driver()
        stored = await driver.fetchval(
            _ADD_INBOUND,
            self.tenant_id,
            conversation_id,
            channel_id,
            content_type,
            content,
            subject,
            provider_message_id,
            source_event_id,
            sent_at,
            edited_at,
        )
        return None if stored is None else StoredMessage(id=stored)

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
        driver = await self._driver()
        row = await driver.fetchrow(_EDITED_TARGET, self.tenant_id, channel_id, provider_message_id)
        if row is None:
            return None
        message_id, conversation_id, guest_id, last_edit, decided = row
        applied = last_edit is None or last_edit < edited_at
        if applied:
            await driver.execute(_APPLY_EDIT, self.tenant_id, message_id, content, edited_at)
        return EditedMessage(message_id, conversation_id, guest_id, applied, decided)

    async def withdraw_answer(self, *, message_id: UUID) -> bool:
        """Cancel the drafted replies to an inbound message; True if it is still unanswered
        (no outbound message since it, other than cancelled or failed ones)."""
        driver = await self._driver()
        await driver.execute(_CANCEL_DRAFTS, self.tenant_id, message_id)
        return not await driver.fetchval(_ANSWERED, self.tenant_id, message_id)

    async def attach_media(
        self,
        *,
        message_id: UUID,
        url: str,
        mime_type: str | None = None,
        file_name: str | None = None,
        caption: str | None = None,
        size_bytes: int | None = None,
    ) -> MediaFile:
        row = MediaFile(
            tenant_id=self.tenant_id,
            message_id=message_id,
            url=url,
            mime_type=mime_type,
            file_name=file_name,
            caption=caption,
            size_bytes=size_bytes,
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def add_outbound(
        self,
        *,
        conversation_id: UUID,
        channel_id: UUID,
        content: str,
        send_after: datetime,
        sender_type: str = "bot",
        sender_user_id: UUID | None = None,
        content_type: str = "text",
        subject: str | None = None,
        in_reply_to_id: UUID | None = None,
        template_id: UUID | None = None,
        options: Sequence[tuple[str, str]] = (),
    ) -> Message:
        """Draft an outbound message; the dispatcher sends it once ``send_after`` has passed.
        ``options`` (value, label) go with a bot question, as buttons where the channel has them.
        """
        row = Message(
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            channel_id=channel_id,
            direction="outbound",
            sender_type=sender_type,
            sender_user_id=sender_user_id,
            content_type=content_type,
            content=content,
            subject=subject,
            status="pending",
            send_after=send_after,
            in_reply_to_id=in_reply_to_id,
            template_id=template_id,
            options=[{"value": v, "label": label} for v, label in options] or None,
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def set_sentiment(
        self, *, message_id: UUID, score: float, label: str, requires_attention: bool
    ) -> None:
        driver = await self._driver()
        await driver.execute(
            _SET_SENTIMENT,
            self.tenant_id,
            message_id,
            Decimal(str(round(score, 3))),
            label,
            requires_attention,
        )

    async def claim_due(self, *, message_ids: Sequence[UUID]) -> list[DueSend]:
        """Lock those of ``message_ids`` that are due, pending and held by no one else."""
        driver = await self._driver()
        rows = await driver.fetch(_CLAIM_DUE, self.tenant_id, list(message_ids))
        return [
            DueSend(
                id=row[0],
                conversation_id=row[1],
                channel_id=row[2],
                channel_public_id=row[3],
                sender_type=row[4],
                content=row[5],
                attempts=row[6],
                human_takeover=row[7],
                staff_replied=row[8],
                guest_handle=row[9],
                answers=InboundReference(row[11], row[12]) if row[10] else None,
                options=_options(row[13]),
                sends_per_second=None if row[14] is None else float(row[14]),
            )
            for row in rows
        ]

    async def update_status(
        self,
        *,
        message_id: UUID,
        status: DeliveryStatus | str,
        at: datetime,
        provider_message_id: str | None = None,
        error: str | None = None,
    ) -> bool:
        """Move the delivery status forward; False if the message is already past ``status``."""
        status = DeliveryStatus(status)  # ValueError for an unknown status
        values: dict[str, object] = {"status": status.value, "updated_at": func.now()}
        if status in _STATUS_TIMES:
            column = _STATUS_TIMES[status]
            values[column] = func.coalesce(getattr(Message, column), at)
        if status is DeliveryStatus.SENT or status is DeliveryStatus.FAILED:
            values["attempts"] = Message.attempts + 1
        if provider_message_id is not None:
            values["provider_message_id"] = provider_message_id
        if error is not None:
            values["error"] = error
        result = await self.session.execute(
            update(Message)
            .where(
                Message.tenant_id == self.tenant_id,
                Message.id == message_id,
                Message.status.in_(_PREDECESSORS[status]),
            )
            .values(**values)
            .returning(Message.id)
        )
        return result.scalar_one_or_none() is not None

    async def advance_by_provider_id(
        self,
        *,
        channel_id: UUID,
        provider_message_id: str,
        status: DeliveryStatus | str,
        at: datetime,
        error: str | None = None,
    ) -> Message | None:
        """Apply a provider's status callback; the message if its status moved, else None."""
        message = await self.find_by_provider_id(
            channel_id=channel_id, provider_message_id=provider_message_id
        )
        if message is None or message.direction != "outbound":
            return None
        moved = await self.update_status(message_id=message.id, status=status, at=at, error=error)
        if not moved:
            return None
        await self.session.refresh(message)
        return message

    async def begin_sends(self, *, attempts: Mapping[UUID, UUID], at: datetime) -> set[UUID]:
        """Record the provider calls about to be made (committed before they are made): each
        message is ``sending`` under its attempt id (``attempts``: message id -> attempt id);
        returns the messages that were still pending."""
        driver = await self._driver()
        rows = await driver.fetch(
            _BEGIN_SENDS, self.tenant_id, list(attempts), list(attempts.values()), at
        )
        return {row[0] for row in rows}

    async def claim_sending(self, *, message_id: UUID, attempt_id: UUID) -> InterruptedSend | None:
        """Lock a message still ``sending`` under ``attempt_id``; None if that attempt was
        settled meanwhile or another dispatcher holds it."""
        driver = await self._driver()
        row = await driver.fetchrow(_CLAIM_SENDING, self.tenant_id, message_id, attempt_id)
        return None if row is None else InterruptedSend(*row)

    async def record_sent(
        self,
        *,
        message_id: UUID,
        attempt_id: UUID,
        provider_message_id: str,
        at: datetime,
        channel_id: UUID,
        provider: str,
        to: str,
    ) -> SentRecord | None:
        """Settle the attempt as sent, record the conversation's response and audit the send
        (``comms_events``); None if the attempt was settled before.

        This cannot fail on the provider's id: one that already names another message of the
        channel is not stored (the message is still ``sent``, with the clash in ``error``)."""
        clash = f"sent; the provider's id {provider_message_id!r} already names another message"
        driver = await self._driver()
        row = await driver.fetchrow(
            _RECORD_SENT,
            self.tenant_id,
            message_id,
            attempt_id,
            provider_message_id,
            at,
            clash[:2000],
            channel_id,
            provider,
            json.dumps({"to": to}),
        )
        return None if row is None else SentRecord(provider_message_id=row[0])

    async def record_unsent(
        self, *, message_id: UUID, attempt_id: UUID, until: datetime, error: str
    ) -> bool:
        """The provider did not take the message and may later: pending again from ``until``."""
        return await self._settle(message_id, attempt_id, "pending", error, send_after=until)

    async def record_failed(self, *, message_id: UUID, attempt_id: UUID, error: str) -> bool:
        """The provider refused the message for good."""
        return await self._settle(message_id, attempt_id, "failed", error)

    async def record_uncertain(self, *, message_id: UUID, attempt_id: UUID, error: str) -> bool:
        """The attempt's outcome is lost and the provider cannot say: never sent again."""
        return await self._settle(message_id, attempt_id, "uncertain", error)

    async def _settle(
        self,
        message_id: UUID,
        attempt_id: UUID,
        status: str,
        error: str,
        *,
        send_after: datetime | None = None,
    ) -> bool:
        driver = await self._driver()
        settled = await driver.fetchval(
            _SETTLE_ATTEMPT,
            self.tenant_id,
            message_id,
            attempt_id,
            status,
            error[:2000],
            send_after,
        )
        return settled is not None

    async def cancel(self, *, message_id: UUID, reason: str) -> bool:
        """Drop a drafted message that was not sent; False if it already left."""
        result = await self.session.execute(
            update(Message)
            .where(
                Message.tenant_id == self.tenant_id,
                Message.id == message_id,
                Message.status == "pending",
            )
            .values(status="cancelled", error=reason[:2000], updated_at=func.now())
            .returning(Message.id)
        )
        return result.scalar_one_or_none() is not None

    async def record_decision(
        self, *, message_id: UUID, decision: str, reason: str, at: datetime
    ) -> None:
        """Write what the assistant decided for an inbound message, and why."""
        driver = await self._driver()
        await driver.execute(
            _RECORD_DECISION, self.tenant_id, message_id, decision, reason[:2000], at
        )

    async def list_recent(self, *, conversation_id: UUID, limit: int = 20) -> list[Message]:
        """The conversation's latest messages, oldest first."""
        statement = (
            select(Message)
            .where(Message.tenant_id == self.tenant_id, Message.conversation_id == conversation_id)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(limit)
        )
        rows = list((await self.session.execute(statement)).scalars())
        return list(reversed(rows))


def _options(stored: Any) -> tuple[tuple[str, str], ...]:
    """The stored options (jsonb, as the driver returns it: text) as (value, label) pairs."""
    if stored is None:
        return ()
    items = json.loads(stored) if isinstance(stored, str) else stored
    return tuple((str(item["value"]), str(item["label"])) for item in items)
