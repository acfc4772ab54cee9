"""Outbound messages: drafted, claimed by the dispatcher, sent at most once, and moved forward by
the provider's status callbacks.

A reply is drafted ``pending`` with the time it may go (``send_after``). The dispatcher claims
due rows (``claim_due``, locked, skipping rows another dispatcher holds), commits each as
``sending`` under an attempt id before calling the provider (``begin_sends``), and settles the
attempt in a second transaction guarded by that id: ``record_sent`` (which also answers the
conversation and audits the send), ``record_unsent`` (pending again later), ``record_failed``
or ``record_uncertain`` (never sent again). ``claim_sending`` finds an attempt a crash left
open. Every statement here is made for every reply, so each is compiled once
(``persistence.statements``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    and_,
    any_,
    case,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID

from domain.events import DeliveryStatus, Provider
from persistence.models import Channel, CommsEvent, Conversation, GuestIdentity, Message
from persistence.models.conversations import Direction, MessageStatus, SenderType
from persistence.repositories.base import Repository
from persistence.repositories.service_levels import response_met_values
from persistence.statements import Compiled, param, table_of

messages = table_of(Message)
conversations = table_of(Conversation)
channels = table_of(Channel)
identities = table_of(GuestIdentity)
comms_events = table_of(CommsEvent)
_UUIDS = ARRAY(PG_UUID(as_uuid=True))

# Which statuses each status may follow: a late "sent" callback never undoes "delivered".
_PREDECESSORS: dict[DeliveryStatus, tuple[MessageStatus, ...]] = {
    DeliveryStatus.PENDING: (),
    DeliveryStatus.SENT: (MessageStatus.PENDING,),
    DeliveryStatus.DELIVERED: (MessageStatus.PENDING, MessageStatus.SENT),
    DeliveryStatus.READ: (MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.DELIVERED),
    DeliveryStatus.FAILED: (MessageStatus.PENDING, MessageStatus.SENT),
}
_STATUS_TIMES = {
    DeliveryStatus.SENT: "sent_at",
    DeliveryStatus.DELIVERED: "delivered_at",
    DeliveryStatus.READ: "read_at",
}


def _joined_channel(m: Any) -> Any:
    """The message's conversation (inner) and channel (outer: None if the channel is gone)."""
    conversation = and_(
        conversations.c.tenant_id == m.c.tenant_id, conversations.c.id == m.c.conversation_id
    )
    channel = and_(channels.c.tenant_id == m.c.tenant_id, channels.c.id == m.c.channel_id)
    return m.join(conversations, conversation).outerjoin(channels, channel)


def _guest_handle() -> Any:
    """The guest's first handle on the channel's provider (the address a send goes to)."""
    i = identities.alias("i")
    return (
        select(i.c.handle)
        .where(
            i.c.tenant_id == conversations.c.tenant_id,
            i.c.guest_id == conversations.c.guest_id,
            i.c.kind == channels.c.provider,
        )
        .order_by(i.c.created_at)
        .limit(1)
        .scalar_subquery()
    )


_DRAFT = Compiled.of(
    insert(messages).values(
        id=param("id"),
        tenant_id=param("tenant_id"),
        conversation_id=param("conversation_id"),
        channel_id=param("channel_id"),
        direction=Direction.OUTBOUND,
        sender_type=param("sender_type"),
        sender_user_id=param("sender_user_id"),
        content_type=param("content_type"),
        content=param("content"),
        subject=param("subject"),
        status=MessageStatus.PENDING,
        send_after=param("send_after"),
        in_reply_to_id=param("in_reply_to_id"),
        template_id=param("template_id"),
        options=param("options", JSONB),
        idempotency_key=param("idempotency_key"),
    )
)


def _claim_due() -> Compiled:
    """Locks the due rows no other dispatcher holds and reads what deciding and sending each
    needs: the takeover, a staff message since the draft, the channel, the guest's handle and,
    on an e-mail channel, the guest's latest mail (a reply threads under it)."""
    m = messages.alias("m")
    staff = messages.alias("s")
    staff_replied = exists().where(
        staff.c.tenant_id == m.c.tenant_id,
        staff.c.conversation_id == m.c.conversation_id,
        staff.c.sender_type == SenderType.STAFF,
        staff.c.created_at > m.c.created_at,
    )
    guest_mail = messages.alias("g")
    mail = (
        select(true().label("found"), guest_mail.c.subject, guest_mail.c.provider_message_id)
        .where(
            guest_mail.c.tenant_id == m.c.tenant_id,
            guest_mail.c.conversation_id == m.c.conversation_id,
            guest_mail.c.direction == Direction.INBOUND,
            channels.c.provider == Provider.EMAIL,
        )
        .order_by(guest_mail.c.created_at.desc(), guest_mail.c.id.desc())
        .limit(1)
        .lateral("mail")
    )
    return Compiled.of(
        select(
            m.c.id,
            m.c.conversation_id,
            m.c.channel_id,
            channels.c.public_id,
            m.c.sender_type,
            m.c.content,
            m.c.attempts,
            conversations.c.human_takeover,
            staff_replied,
            _guest_handle(),
            mail.c.found,
            mail.c.subject,
            mail.c.provider_message_id,
            m.c.options,
            channels.c.sends_per_second,
        )
        .select_from(_joined_channel(m).outerjoin(mail, true()))
        .where(
            m.c.tenant_id == param("tenant_id"),
            m.c.id == any_(param("message_ids", _UUIDS)),
            m.c.direction == Direction.OUTBOUND,
            m.c.status == MessageStatus.PENDING,
            m.c.send_after <= func.now(),
        )
        .with_for_update(of=m, skip_locked=True)
    )


_CLAIM_DUE = _claim_due()


def _begin_sends() -> Compiled:
    attempt = (
        func.unnest(param("message_ids", _UUIDS), param("attempt_ids", _UUIDS))
        .table_valued("message_id", "attempt_id")
        .render_derived(name="a")
    )
    return Compiled.of(
        update(messages)
        .values(
            status=MessageStatus.SENDING,
            send_attempt_id=attempt.c.attempt_id,
            send_started_at=param("at"),
            attempts=messages.c.attempts + 1,
            updated_at=func.now(),
        )
        .where(
            messages.c.tenant_id == param("tenant_id"),
            messages.c.id == attempt.c.message_id,
            messages.c.status == MessageStatus.PENDING,
        )
        .returning(messages.c.id)
    )


_BEGIN_SENDS = _begin_sends()


def _claim_sending() -> Compiled:
    m = messages.alias("m")
    return Compiled.of(
        select(
            m.c.conversation_id,
            m.c.channel_id,
            channels.c.public_id,
            m.c.content,
            m.c.send_started_at,
            _guest_handle(),
        )
        .select_from(_joined_channel(m))
        .where(
            m.c.tenant_id == param("tenant_id"),
            m.c.id == param("message_id"),
            m.c.status == MessageStatus.SENDING,
            m.c.send_attempt_id == param("attempt_id"),
        )
        .with_for_update(of=m, skip_locked=True)
    )


_CLAIM_SENDING = _claim_sending()


def _record_sent() -> Compiled:
    """Settles the attempt as sent, answers the conversation (first_response_at set once; a
    bot's reply meets the SLA response targets where the policy counts it) and audits the send,
    in one round trip. A provider id another message of the channel already has is left out
    (the clash noted in ``error``), so recording cannot fail on it."""
    other = messages.alias("o")
    clash = select(
        exists()
        .where(
            other.c.tenant_id == param("tenant_id"),
            other.c.channel_id == param("channel_id"),
            other.c.provider_message_id == param("provider_message_id"),
            other.c.id != param("message_id"),
        )
        .label("taken")
    ).cte("clash")
    m, c = messages, conversations
    sent = (
        update(m)
        .values(
            status=MessageStatus.SENT,
            sent_at=func.coalesce(m.c.sent_at, param("at")),
            provider_message_id=case((clash.c.taken, null()), else_=param("provider_message_id")),
            error=case((clash.c.taken, param("clash"))),
            updated_at=func.now(),
        )
        .where(
            m.c.tenant_id == param("tenant_id"),
            m.c.id == param("message_id"),
            m.c.status == MessageStatus.SENDING,
            m.c.send_attempt_id == param("attempt_id"),
        )
        .returning(m.c.conversation_id, m.c.provider_message_id, m.c.sender_type)
        .cte("sent")
    )
    answered = (
        update(c)
        .values(
            first_response_at=func.coalesce(c.c.first_response_at, param("at")),
            last_message_at=func.greatest(c.c.last_message_at, param("at")),
            **response_met_values(
                and_(sent.c.sender_type == SenderType.BOT, c.c.sla_bot_reply_counts), c
            ),
            updated_at=func.now(),
        )
        .where(c.c.tenant_id == param("tenant_id"), c.c.id == sent.c.conversation_id)
        .cte("answered")
    )
    audit = (
        insert(comms_events)
        .from_select(
            [
                "tenant_id",
                "channel_id",
                "message_id",
                "provider",
                "direction",
                "kind",
                "provider_message_id",
                "payload",
            ],
            select(
                param("tenant_id"),
                param("channel_id"),
                param("message_id"),
                param("provider"),
                literal(Direction.OUTBOUND.value),
                literal("send"),
                sent.c.provider_message_id,
                param("payload", JSONB),
            ),
            include_defaults=False,  # the row's id comes from the column's server default
        )
        .cte("audit")
    )
    return Compiled.of(
        select(sent.c.provider_message_id).add_cte(answered, audit).select_from(sent)
    )


_RECORD_SENT = _record_sent()
# Settles the attempt another way: pending again later, failed, or uncertain.
_SETTLE_ATTEMPT = Compiled.of(
    update(messages)
    .values(
        status=param("status"),
        error=param("error"),
        send_after=func.coalesce(param("send_after"), messages.c.send_after),
        updated_at=func.now(),
    )
    .where(
        messages.c.tenant_id == param("tenant_id"),
        messages.c.id == param("message_id"),
        messages.c.status == MessageStatus.SENDING,
        messages.c.send_attempt_id == param("attempt_id"),
    )
    .returning(messages.c.id)
)
_CANCEL = Compiled.of(
    update(messages)
    .values(status=MessageStatus.CANCELLED, error=param("error"), updated_at=func.now())
    .where(
        messages.c.tenant_id == param("tenant_id"),
        messages.c.id == param("message_id"),
        messages.c.status == MessageStatus.PENDING,
    )
    .returning(messages.c.id)
)
_FIND_OUTBOUND = Compiled.of(
    select(messages.c.id).where(
        messages.c.tenant_id == param("tenant_id"),
        messages.c.channel_id == param("channel_id"),
        messages.c.provider_message_id == param("provider_message_id"),
        messages.c.direction == Direction.OUTBOUND,
    )
)


def _advance(status: DeliveryStatus) -> Compiled:
    """Moves a message to ``status`` from a status it may follow (the status's time set once;
    a send or a failure counts an attempt); returns what the callback's handling needs."""
    values: dict[str, Any] = {"status": status.value, "updated_at": func.now()}
    if status in _STATUS_TIMES:
        column = _STATUS_TIMES[status]
        values[column] = func.coalesce(messages.c[column], param("at"))
    if status is DeliveryStatus.SENT or status is DeliveryStatus.FAILED:
        values["attempts"] = messages.c.attempts + 1
    values["error"] = func.coalesce(param("error"), messages.c.error)
    values["provider_message_id"] = func.coalesce(
        param("provider_message_id"), messages.c.provider_message_id
    )
    return Compiled.of(
        update(messages)
        .where(
            messages.c.tenant_id == param("tenant_id"),
            messages.c.id == param("message_id"),
            messages.c.status.in_(_PREDECESSORS[status]) if _PREDECESSORS[status] else false(),
        )
        .values(**values)
        .returning(messages.c.id, messages.c.conversation_id, messages.c.status)
    )


_ADVANCE = {status: _advance(status) for status in DeliveryStatus}


@dataclass(frozen=True, slots=True)
class Draft:
    """An outbound message as drafted."""

    id: UUID


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
class StatusChange:
    """A message whose delivery status a provider's callback moved."""

    id: UUID
    conversation_id: UUID
    status: MessageStatus


class OutboundRepository(Repository):
    async def draft(
        self,
        *,
        conversation_id: UUID,
        channel_id: UUID,
        content: str,
        send_after: datetime,
        sender_type: SenderType | str = SenderType.BOT,
        sender_user_id: UUID | None = None,
        content_type: str = "text",
        subject: str | None = None,
        in_reply_to_id: UUID | None = None,
        template_id: UUID | None = None,
        options: Sequence[tuple[str, str]] = (),
        idempotency_key: str | None = None,
    ) -> Draft:
        """Draft an outbound message; the dispatcher sends it once ``send_after`` has passed.
        ``options`` (value, label) go with a bot question, as buttons where the channel has them.
        """
        message_id = uuid4()
        await self.sql.run(
            _DRAFT,
            id=message_id,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            channel_id=channel_id,
            sender_type=SenderType(sender_type).value,
            sender_user_id=sender_user_id,
            content_type=content_type,
            content=content,
            subject=subject,
            send_after=send_after,
            in_reply_to_id=in_reply_to_id,
            template_id=template_id,
            options=[{"value": v, "label": label} for v, label in options] or None,
            idempotency_key=idempotency_key,
        )
        return Draft(id=message_id)

    async def claim_due(self, *, message_ids: Sequence[UUID]) -> list[DueSend]:
        """Lock those of ``message_ids`` that are due, pending and held by no one else."""
        rows = await self.sql.rows(
            _CLAIM_DUE, tenant_id=self.tenant_id, message_ids=list(message_ids)
        )
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

    async def begin_sends(self, *, attempts: Mapping[UUID, UUID], at: datetime) -> set[UUID]:
        """Record the provider calls about to be made (committed before they are made): each
        message is ``sending`` under its attempt id (``attempts``: message id -> attempt id);
        returns the messages that were still pending."""
        rows = await self.sql.rows(
            _BEGIN_SENDS,
            tenant_id=self.tenant_id,
            message_ids=list(attempts),
            attempt_ids=list(attempts.values()),
            at=at,
        )
        return {row[0] for row in rows}

    async def claim_sending(self, *, message_id: UUID, attempt_id: UUID) -> InterruptedSend | None:
        """Lock a message still ``sending`` under ``attempt_id``; None if that attempt was
        settled meanwhile or another dispatcher holds it."""
        row = await self.sql.row(
            _CLAIM_SENDING, tenant_id=self.tenant_id, message_id=message_id, attempt_id=attempt_id
        )
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
        row = await self.sql.row(
            _RECORD_SENT,
            tenant_id=self.tenant_id,
            message_id=message_id,
            attempt_id=attempt_id,
            provider_message_id=provider_message_id,
            at=at,
            clash=clash[:2000],
            channel_id=channel_id,
            provider=provider,
            payload={"to": to},
        )
        return None if row is None else SentRecord(provider_message_id=row[0])

    async def record_unsent(
        self, *, message_id: UUID, attempt_id: UUID, until: datetime, error: str
    ) -> bool:
        """The provider did not take the message and may later: pending again from ``until``."""
        return await self._settle(
            message_id, attempt_id, MessageStatus.PENDING, error, send_after=until
        )

    async def record_failed(self, *, message_id: UUID, attempt_id: UUID, error: str) -> bool:
        """The provider refused the message for good."""
        return await self._settle(message_id, attempt_id, MessageStatus.FAILED, error)

    async def record_uncertain(self, *, message_id: UUID, attempt_id: UUID, error: str) -> bool:
        """The attempt's outcome is lost and the provider cannot say: never sent again."""
        return await self._settle(message_id, attempt_id, MessageStatus.UNCERTAIN, error)

    async def _settle(
        self,
        message_id: UUID,
        attempt_id: UUID,
        status: MessageStatus,
        error: str,
        *,
        send_after: datetime | None = None,
    ) -> bool:
        settled = await self.sql.value(
            _SETTLE_ATTEMPT,
            tenant_id=self.tenant_id,
            message_id=message_id,
            attempt_id=attempt_id,
            status=status.value,
            error=error[:2000],
            send_after=send_after,
        )
        return settled is not None

    async def cancel(self, *, message_id: UUID, reason: str) -> bool:
        """Drop a drafted message that was not sent; False if it already left."""
        cancelled = await self.sql.value(
            _CANCEL, tenant_id=self.tenant_id, message_id=message_id, error=reason[:2000]
        )
        return cancelled is not None

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
        moved = await self._advance(message_id, status, at, provider_message_id, error)
        return moved is not None

    async def _advance(
        self,
        message_id: UUID,
        status: DeliveryStatus | str,
        at: datetime,
        provider_message_id: str | None,
        error: str | None,
    ) -> StatusChange | None:
        status = DeliveryStatus(status)  # ValueError for an unknown status
        timed = {"at": at} if status in _STATUS_TIMES else {}
        row = await self.sql.row(
            _ADVANCE[status],
            tenant_id=self.tenant_id,
            message_id=message_id,
            error=error,
            provider_message_id=provider_message_id,
            **timed,
        )
        return None if row is None else StatusChange(row[0], row[1], MessageStatus(row[2]))

    async def advance_by_provider_id(
        self,
        *,
        channel_id: UUID,
        provider_message_id: str,
        status: DeliveryStatus | str,
        at: datetime,
        error: str | None = None,
    ) -> StatusChange | None:
        """Apply a provider's status callback to the outbound message it names; the change if
        its status moved, else None."""
        message_id = await self.sql.value(
            _FIND_OUTBOUND,
            tenant_id=self.tenant_id,
            channel_id=channel_id,
            provider_message_id=provider_message_id,
        )
        if message_id is None:
            return None
        return await self._advance(message_id, status, at, None, error)


def _options(stored: Any) -> tuple[tuple[str, str], ...]:
    """The stored options (jsonb, as the driver returns it: text) as (value, label) pairs."""
    if stored is None:
        return ()
    items = json.loads(stored) if isinstance(stored, str) else stored
    return tuple((str(item["value"]), str(item["label"])) for item in items)
