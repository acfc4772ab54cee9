"""intake: store each inbound message exactly once, and move delivery statuses forward.

A provider retry (same provider event id, new event id) meets the UNIQUE on webhook_events and
is acked with no other effect; a broker redelivery (same event id) never reaches here: the
runner's inbox absorbs it.

A guest's edit (an event with ``edited_at``) puts the new text on the message it names, unless
a later edit is stored already; an edit of a message not stored yet is stored as that message,
and the original arriving after it is then a duplicate. When auto-reply had already decided on
the message and nobody answered it since, drafted replies to it are cancelled and it is
accepted again, so the pipeline decides on the words the guest now means; a message still on its
way through the pipeline is decided on its stored, edited, text anyway.
"""

from __future__ import annotations

from datetime import datetime

from prometheus_client import Counter

from domain.events import (
    ConversationUpdated,
    DeliveryStatusReceived,
    EscalationRequested,
    InboundMessageReceived,
    MessageAccepted,
    OutboundMessageObserved,
    Provider,
)
from domain.phone import normalize_phone
from persistence.repositories.base import NotFoundError
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError

NAME = "intake"

PROVIDER_DUPLICATES = Counter(
    "frontdesk_provider_duplicates_total",
    "Webhooks a provider delivered again, acked with no effect",
    ["provider"],
)
EDITS = Counter(
    "frontdesk_inbound_edits_total",
    "Guests' edits put on the messages they edited",
    ["provider"],
)
OUTGOING = Counter(
    "frontdesk_outgoing_messages_total",
    "The business's own messages a provider reported: stored (sent outside frontdesk), own"
    " (frontdesk's send echoed back) or duplicate",
    ["provider", "outcome"],
)
PHONE_PROVIDERS = {Provider.GREEN_API, Provider.WHATSAPP_CLOUD, Provider.TWILIO_SMS}


def guest_handle(
    event: InboundMessageReceived | OutboundMessageObserved,
) -> tuple[str, str | None, str | None]:
    """The guest's identity handle, and the phone (E.164) or e-mail address it gives us."""
    raw = (
        event.recipient_handle
        if isinstance(event, OutboundMessageObserved)
        else event.sender_handle
    )
    if event.provider in PHONE_PROVIDERS:
        phone = normalize_phone(raw)
        return (phone or raw.strip(), phone, None)
    if event.provider is Provider.EMAIL:
        address = raw.strip().lower()
        return (address, None, address)
    return (raw.strip(), None, None)


async def first_delivery(
    event: InboundMessageReceived | DeliveryStatusReceived | OutboundMessageObserved,
    uow: UnitOfWork,
) -> bool:
    """Record the provider's dedup key; False (and counted) when the provider sent it before."""
    try:
        first_time = await uow.webhook_events.record(
            provider=event.provider.value,
            provider_event_id=event.provider_event_id,
            channel_id=event.channel_id,
            payload=event.raw,
        )
    except NotFoundError as exc:  # deleted since the ingress took the webhook
        raise PermanentError(f"{exc} for this tenant") from exc
    if not first_time:
        PROVIDER_DUPLICATES.labels(event.provider.value).inc()
    return first_time


async def accept_message(event: InboundMessageReceived, uow: UnitOfWork) -> None:
    if not await first_delivery(event, uow):
        return
    if event.edited_at is not None and await accept_edit(event, event.edited_at, uow):
        return
    handle, phone, email = guest_handle(event)
    guest = await uow.guests.upsert_by_identity(
        kind=event.provider.value,
        handle=handle,
        display_name=event.sender_name,
        phone=phone,
        email=email,
    )
    received_at = event.sent_at or event.occurred_at
    conversation, opened = await uow.conversations.find_or_open(
        guest_id=guest.id, channel_id=event.channel_id, at=received_at
    )
    if not opened:
        await uow.conversations.record_inbound(conversation_id=conversation.id, at=received_at)
    if conversation.reservation_id is None:
        reservation_id = await uow.reservations.current_via_channel(
            guest_id=guest.id, channel_id=event.channel_id, on=received_at.date()
        )
        if reservation_id is not None:
            await uow.conversations.link_reservation(
                conversation_id=conversation.id, reservation_id=reservation_id
            )
    message = await uow.inbound.add(
        conversation_id=conversation.id,
        channel_id=event.channel_id,
        provider_message_id=event.provider_message_id,
        content_type=event.content_type.value,
        content=_content_of(event),
        subject=event.subject,
        source_event_id=event.event_id,
        sent_at=event.sent_at,
        edited_at=event.edited_at,
    )
    if message is None:
        # The same provider message under another dedup key (the original arriving after its
        # edit was stored): stored once already.
        PROVIDER_DUPLICATES.labels(event.provider.value).inc()
        return
    await uow.service_levels.guest_wrote(conversation_id=conversation.id, at=received_at)
    for media in (event.media, *event.attachments):
        if media is not None:
            await uow.inbound.attach_media(
                message_id=message.id,
                url=media.url,
                mime_type=media.mime_type,
                file_name=media.file_name,
                caption=media.caption,
                size_bytes=media.size_bytes,
            )
    await uow.comms_events.add(
        channel_id=event.channel_id,
        message_id=message.id,
        provider=event.provider.value,
        direction="inbound",
        kind="message",
        provider_message_id=event.provider_message_id,
        payload=event.raw,
    )
    uow.emit(
        MessageAccepted(
            tenant_id=event.tenant_id,
            message_id=message.id,
            conversation_id=conversation.id,
            guest_id=guest.id,
            channel_id=event.channel_id,
        )
    )


async def accept_edit(event: InboundMessageReceived, edited_at: datetime, uow: UnitOfWork) -> bool:
    """Apply a guest's edit to the message it names; False if that message is not stored."""
    edited = await uow.inbound.apply_edit(
        channel_id=event.channel_id,
        provider_message_id=event.provider_message_id,
        content=_content_of(event),
        edited_at=edited_at,
    )
    if edited is None:
        return False
    await uow.comms_events.add(
        channel_id=event.channel_id,
        message_id=edited.id,
        provider=event.provider.value,
        direction="inbound",
        kind="message",
        provider_message_id=event.provider_message_id,
        payload=event.raw,
    )
    if not edited.applied:
        return True  # a later edit is stored: this one is history only
    EDITS.labels(event.provider.value).inc()
    if edited.decided and await uow.inbound.withdraw_answer(message_id=edited.id):
        uow.emit(
            MessageAccepted(
                tenant_id=event.tenant_id,
                message_id=edited.id,
                conversation_id=edited.conversation_id,
                guest_id=edited.guest_id,
                channel_id=event.channel_id,
            )
        )
    return True


def _content_of(event: InboundMessageReceived | OutboundMessageObserved) -> str | None:
    if event.text:
        return event.text
    if event.media is not None and event.media.caption:
        return event.media.caption
    if isinstance(event, OutboundMessageObserved):
        return None
    if event.location is not None:
        place = ", ".join(p for p in (event.location.name, event.location.address) if p)
        return f"{place} ({event.location.latitude}, {event.location.longitude})".strip()
    if event.contact is not None:
        return " ".join((event.contact.name, *event.contact.phones))
    return None


async def record_status(event: DeliveryStatusReceived, uow: UnitOfWork) -> None:
    if not await first_delivery(event, uow):
        return
    error = " ".join(p for p in (event.error_code, event.error_message) if p) or None
    message = await uow.outbound.advance_by_provider_id(
        channel_id=event.channel_id,
        provider_message_id=event.provider_message_id,
        status=event.status,
        at=event.occurred_at,
        error=error,
    )
    await uow.comms_events.add(
        channel_id=event.channel_id,
        message_id=message.id if message else None,
        provider=event.provider.value,
        direction="inbound",
        kind="status",
        provider_message_id=event.provider_message_id,
        error=error,
        payload=event.raw,
    )
    if message is not None and message.status == "failed":
        uow.emit(
            EscalationRequested(
                tenant_id=event.tenant_id,
                conversation_id=message.conversation_id,
                message_id=message.id,
                reason="delivery_failed",
                detail=error or "the provider reported the message as failed",
            )
        )


async def record_outgoing(event: OutboundMessageObserved, uow: UnitOfWork) -> None:
    """Store a message staff sent the guest outside frontdesk once, as a staff reply: drafted
    auto-replies are cancelled and the conversation counts as answered. Frontdesk's own sends,
    echoed back, are recognised by their provider message id (or, while the dispatcher is still
    recording the send, by the same text being sent in the conversation) and not stored again."""
    if not await first_delivery(event, uow):
        OUTGOING.labels(event.provider.value, "duplicate").inc()
        return
    content = _content_of(event)
    outcome = OUTGOING.labels(event.provider.value, "own")
    known = await uow.messages.find_by_provider_id(
        channel_id=event.channel_id, provider_message_id=event.provider_message_id
    )
    if known is not None:
        outcome.inc()
        return
    handle, phone, email = guest_handle(event)
    inbox = uow.staff_inbox
    staff_chats = await inbox.alert_addresses(channel_id=event.channel_id)
    if {handle, event.recipient_handle} & {normalize_phone(a) or a for a in staff_chats}:
        outcome.inc()  # a staff alert frontdesk sent through this channel, or a staff chat
        return
    guest = await uow.guests.upsert_by_identity(
        kind=event.provider.value, handle=handle, phone=phone, email=email
    )
    sent_at = event.sent_at or event.occurred_at
    conversation, _ = await uow.conversations.find_or_open(
        guest_id=guest.id, channel_id=event.channel_id, at=sent_at
    )
    if event.via == "api" and await inbox.sending_now(
        conversation_id=conversation.id, content=content
    ):
        outcome.inc()
        return
    message_id = await inbox.add_observed(
        conversation_id=conversation.id,
        channel_id=event.channel_id,
        provider_message_id=event.provider_message_id,
        content_type=event.content_type.value,
        content=content,
        sent_at=sent_at,
    )
    if message_id is None:
        OUTGOING.labels(event.provider.value, "duplicate").inc()
        return
    OUTGOING.labels(event.provider.value, "stored").inc()
    await inbox.cancel_bot_drafts(
        conversation_id=conversation.id, reason=f"staff replied outside frontdesk ({event.via})"
    )
    await uow.conversations.record_response(conversation_id=conversation.id, at=sent_at)
    await uow.service_levels.responded(conversation_id=conversation.id, by_bot=False)
    inbox.record(conversation.id, "reply", event.via, str(message_id), None)
    await uow.comms_events.add(
        channel_id=event.channel_id,
        message_id=message_id,
        provider=event.provider.value,
        direction="outbound",
        kind="message",
        provider_message_id=event.provider_message_id,
        payload=event.raw,
    )
    uow.emit(
        ConversationUpdated(
            tenant_id=event.tenant_id,
            conversation_id=conversation.id,
            change="reply",
            from_value=event.via,
            message_id=message_id,
        )
    )


async def handle(
    event: InboundMessageReceived | DeliveryStatusReceived | OutboundMessageObserved,
    uow: UnitOfWork,
) -> None:
    if isinstance(event, InboundMessageReceived):
        await accept_message(event, uow)
    elif isinstance(event, OutboundMessageObserved):
        await record_outgoing(event, uow)
    else:
        await record_status(event, uow)


def consumer() -> Consumer:
    return Consumer(
        name=NAME,
        routing_keys=(
            InboundMessageReceived.routing_key,
            DeliveryStatusReceived.routing_key,
            OutboundMessageObserved.routing_key,
        ),
        event_types=(InboundMessageReceived, DeliveryStatusReceived, OutboundMessageObserved),
        handle=handle,
    )
