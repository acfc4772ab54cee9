"""intake: store each inbound message exactly once, and move delivery statuses forward.

A provider retry (same provider event id, new event id) meets the UNIQUE on webhook_events and
is acked with no other effect; a broker redelivery (same event id) never reaches here: the
runner's inbox absorbs it.
"""

from __future__ import annotations

from prometheus_client import Counter

from domain.events import (
    DeliveryStatusReceived,
    EscalationRequested,
    InboundMessageReceived,
    MessageAccepted,
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
PHONE_PROVIDERS = {Provider.GREEN_API, Provider.WHATSAPP_CLOUD, Provider.TWILIO_SMS}


def guest_handle(event: InboundMessageReceived) -> tuple[str, str | None, str | None]:
    """The identity handle, and the phone (E.164) or e-mail address it gives us."""
    if event.provider in PHONE_PROVIDERS:
        phone = normalize_phone(event.sender_handle)
        return (phone or event.sender_handle.strip(), phone, None)
    if event.provider is Provider.EMAIL:
        address = event.sender_handle.strip().lower()
        return (address, None, address)
    return (event.sender_handle.strip(), None, None)


async def first_delivery(
    event: InboundMessageReceived | DeliveryStatusReceived, uow: UnitOfWork
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
    message = await uow.messages.add_inbound(
        conversation_id=conversation.id,
        channel_id=event.channel_id,
        provider_message_id=event.provider_message_id,
        content_type=event.content_type.value,
        content=_content_of(event),
        subject=event.subject,
        source_event_id=event.event_id,
        sent_at=event.sent_at,
    )
    if message is None:
        # The same provider message under another dedup key (e.g. an edited Telegram
        # message re-sent as a new update): stored once already.
        PROVIDER_DUPLICATES.labels(event.provider.value).inc()
        return
    if event.media is not None:
        await uow.messages.attach_media(
            message_id=message.id,
            url=event.media.url,
            mime_type=event.media.mime_type,
            file_name=event.media.file_name,
            caption=event.media.caption,
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


def _content_of(event: InboundMessageReceived) -> str | None:
    if event.text:
        return event.text
    if event.media is not None and event.media.caption:
        return event.media.caption
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
    message = await uow.messages.advance_by_provider_id(
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


async def handle(event: InboundMessageReceived | DeliveryStatusReceived, uow: UnitOfWork) -> None:
    if isinstance(event, InboundMessageReceived):
        await accept_message(event, uow)
    else:
        await record_status(event, uow)


def consumer() -> Consumer:
    return Consumer(
        name=NAME,
        routing_keys=(InboundMessageReceived.routing_key, DeliveryStatusReceived.routing_key),
        event_types=(InboundMessageReceived, DeliveryStatusReceived),
        handle=handle,
    )
