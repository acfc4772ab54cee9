"""Green API (WhatsApp through a linked phone): webhook auth, parsing and sending.

Webhooks carry ``Authorization: Bearer <webhookUrlToken>``, the token set on the instance.
Handled ``typeWebhook`` values: ``incomingMessageReceived`` (text, extended text, image, video,
audio, document, location, contact, edited message), ``outgoingMessageStatus``, and the
business's own messages ``outgoingMessageReceived`` (typed on the phone) and
``outgoingAPIMessageReceived`` (sent through the API: frontdesk's sends among them), which
become ``OutboundMessageObserved`` (intake stores each once, as a staff message); every other
type (``stateInstanceChanged``, calls, ...) yields no event.
The dedup key is ``(idInstance, chatId, idMessage)``, plus the status for status webhooks.

An ``editedMessage`` (``editedMessageData: {textMessage, stanzaId}``) has its own ``idMessage``
(the edit's, the dedup key) and names the edited message in ``stanzaId``: it becomes an event
with ``edited_at`` set and ``provider_message_id = stanzaId``, so intake puts the new text on
the message it edits (see ``workers.consumers.intake``).

Sending: ``POST {apiUrl}/waInstance{idInstance}/sendMessage/{apiTokenInstance}`` with
``{chatId, message, linkPreview: false}`` answers ``{idMessage}``; templates do not exist here
and are sent as text. Green API takes no idempotency key, but it lists what the instance sent:
``GET .../lastOutgoingMessages/{apiTokenInstance}?minutes=N`` (``[{idMessage, timestamp,
chatId, typeMessage, textMessage | extendedTextMessage.text, ...}]``, up to two minutes late),
so a send whose answer was lost is looked up there instead of being sent again.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from domain.channels import ChannelRoute
from domain.events import (
    Contact,
    ContentType,
    DeliveryStatus,
    DeliveryStatusReceived,
    InboundMessageReceived,
    Location,
    Media,
    OutboundMessageObserved,
    Provider,
)
from workers.providers.base import (
    LooseModel,
    MalformedPayload,
    OutboundMessage,
    ParsedEvent,
    PermanentSendError,
    WebhookForbidden,
    WebhookUnauthorized,
    credential,
    from_channel,
    require_secret,
    secrets_equal,
    storable,
)
from workers.providers.http import HttpCall, HttpSender
from workers.providers.spec import BodyFormat, ProviderSpec, WebhookDoc, WebhookRequest

DEFAULT_API_URL = "https://api.green-api.com"
LOOKUP_SKEW_SECONDS = 60.0

_STATUSES = {
    "pending": DeliveryStatus.PENDING,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    **dict.fromkeys(
        ("failed", "noActiveSession", "incorrectLocation", "incorrectFileType"),
        DeliveryStatus.FAILED,
    ),
}
_FILE_TYPES = {
    "imageMessage": ContentType.IMAGE,
    "videoMessage": ContentType.VIDEO,
    "audioMessage": ContentType.AUDIO,
    "documentMessage": ContentType.DOCUMENT,
}
# Messages the business sent outside frontdesk: typed on the phone, or through the API.
Via = Literal["phone", "api"]
_OUTGOING: dict[str, Via] = {
    "outgoingMessageReceived": "phone",
    "outgoingAPIMessageReceived": "api",
}
_VCARD_PHONE = re.compile(r"^TEL[^:]*:(.+)$", re.MULTILINE | re.IGNORECASE)


class InstanceData(LooseModel):
    id_instance: int = Field(alias="idInstance")


class SenderData(LooseModel):
    chat_id: str = Field(alias="chatId", min_length=1)
    sender: str | None = None
    sender_name: str | None = Field(default=None, alias="senderName")
    sender_contact_name: str | None = Field(default=None, alias="senderContactName")


class Webhook(LooseModel):
    type_webhook: str = Field(alias="typeWebhook")


class IncomingMessage(LooseModel):
    instance_data: InstanceData = Field(alias="instanceData")
    timestamp: datetime
    id_message: str = Field(alias="idMessage", min_length=1)
    sender_data: SenderData = Field(alias="senderData")
    message_data: dict[str, Any] = Field(alias="messageData")


class OutgoingStatus(LooseModel):
    instance_data: InstanceData = Field(alias="instanceData")
    chat_id: str = Field(alias="chatId", min_length=1)
    id_message: str = Field(alias="idMessage", min_length=1)
    status: str
    description: str | None = None


def verify(route: ChannelRoute, *, authorization: str | None) -> None:
    secret = require_secret(route)
    if not authorization:
        raise WebhookUnauthorized("missing Authorization header")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not secrets_equal(token.strip(), secret):
        raise WebhookForbidden("Authorization bearer token does not match")


def handle_of(chat_id: str) -> str:
    """``79001234568@c.us`` -> ``+79001234568``; group and other ids stay as they are."""
    number, _, domain = chat_id.partition("@")
    return f"+{number}" if domain == "c.us" and number.isdigit() else chat_id


def _check_instance(route: ChannelRoute, instance: InstanceData) -> None:
    expected = route.credentials.get("id_instance")
    if expected and str(instance.id_instance) != expected:
        raise MalformedPayload("instanceData.idInstance does not belong to this channel")


def parse_inbound(route: ChannelRoute, payload: Any) -> list[ParsedEvent]:
    payload = storable(payload)
    kind = Webhook.model_validate(payload).type_webhook
    if kind == "incomingMessageReceived":
        message = IncomingMessage.model_validate(payload)
        _check_instance(route, message.instance_data)
        event = _inbound(route, message, payload)
        return [event] if event is not None else []
    if kind in _OUTGOING:
        message = IncomingMessage.model_validate(payload)
        _check_instance(route, message.instance_data)
        echoed = _outgoing(route, message, payload, via=_OUTGOING[kind])
        return [echoed] if echoed is not None else []
    if kind == "outgoingMessageStatus":
        status = OutgoingStatus.model_validate(payload)
        _check_instance(route, status.instance_data)
        return _status(route, status, payload)
    return []


def _inbound(
    route: ChannelRoute, message: IncomingMessage, raw: dict[str, Any]
) -> InboundMessageReceived | None:
    data = message.message_data
    kind = data.get("typeMessage")
    if not isinstance(kind, str):
        raise MalformedPayload("messageData.typeMessage must be a string")
    fields: dict[str, Any] = {"provider_message_id": message.id_message}
    if kind == "textMessage":
        fields["text"] = _text(_object(data, "textMessageData"), "textMessage")
    elif kind in ("extendedTextMessage", "quotedMessage"):
        fields["text"] = _text(_object(data, "extendedTextMessageData"), "text")
    elif kind in _FILE_TYPES:
        file = _object(data, "fileMessageData")
        fields["content_type"] = _FILE_TYPES[kind]
        fields["media"] = Media(
            url=_text(file, "downloadUrl", required=True),
            mime_type=_text(file, "mimeType"),
            file_name=_text(file, "fileName"),
            caption=_text(file, "caption"),
        )
        fields["text"] = _text(file, "caption")
    elif kind == "locationMessage":
        location = _object(data, "locationMessageData")
        fields["content_type"] = ContentType.LOCATION
        fields["location"] = Location.model_validate(
            {
                "latitude": location.get("latitude"),
                "longitude": location.get("longitude"),
                "name": location.get("nameLocation") or None,
                "address": location.get("address") or None,
            }
        )
    elif kind == "editedMessage":
        edit = _object(data, "editedMessageData")
        fields["provider_message_id"] = _text(edit, "stanzaId", required=True)
        fields["text"] = _text(edit, "textMessage")
        fields["edited_at"] = message.timestamp
    elif kind == "contactMessage":
        contact = _object(data, "contactMessageData")
        vcard = _text(contact, "vcard") or ""
        fields["content_type"] = ContentType.CONTACT
        fields["contact"] = Contact(
            name=_text(contact, "displayName") or "",
            phones=tuple(p.strip() for p in _VCARD_PHONE.findall(vcard)),
        )
    else:
        return None  # reactions, polls, stickers...: nothing a guest conversation needs
    sender = message.sender_data
    instance = message.instance_data.id_instance
    return InboundMessageReceived(
        **from_channel(route),
        provider_event_id=f"{instance}:{sender.chat_id}:{message.id_message}",
        sender_handle=handle_of(sender.sender or sender.chat_id),
        sender_name=sender.sender_contact_name or sender.sender_name or None,
        sent_at=message.timestamp,
        raw=raw,
        **fields,
    )


def _outgoing(
    route: ChannelRoute, message: IncomingMessage, raw: dict[str, Any], *, via: Via
) -> OutboundMessageObserved | None:
    """A message the business sent the chat ``chatId`` (the guest), read like a guest's."""
    parsed = _inbound(route, message, raw)
    if parsed is None or parsed.edited_at is not None:
        return None  # reactions, polls, edits of the business's own messages: not stored
    return OutboundMessageObserved(
        **from_channel(route),
        provider_event_id=parsed.provider_event_id,
        provider_message_id=parsed.provider_message_id,
        recipient_handle=handle_of(message.sender_data.chat_id),
        via=via,
        content_type=parsed.content_type,
        text=parsed.text,
        media=parsed.media,
        sent_at=parsed.sent_at,
        raw=raw,
    )


def _status(route: ChannelRoute, status: OutgoingStatus, raw: dict[str, Any]) -> list[ParsedEvent]:
    mapped = _STATUSES.get(status.status)
    if mapped is None:
        return []
    instance = status.instance_data.id_instance
    failed = mapped is DeliveryStatus.FAILED
    return [
        DeliveryStatusReceived(
            **from_channel(route),
            provider_event_id=f"{instance}:{status.chat_id}:{status.id_message}:{status.status}",
            provider_message_id=status.id_message,
            status=mapped,
            error_code=status.status if failed else None,
            error_message=status.description if failed else None,
            raw=raw,
        )
    ]


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise MalformedPayload(f"messageData.{key} must be an object")
    return value


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if isinstance(value, str) and value:
        return value
    if required or (value is not None and not isinstance(value, str)):
        raise MalformedPayload(f"{key} must be a non-empty string")
    return None


def chat_id_of(to: str) -> str:
    """A phone number (``+7900...``) or a ready chat id (``...@c.us`` / ``...@g.us``)."""
    if "@" in to:
        return to
    digits = "".join(ch for ch in to if ch.isdigit())
    if not digits:
        raise PermanentSendError(f"not a phone number or chat id: {to!r}")
    return f"{digits}@c.us"


class GreenApiSender(HttpSender):
    """``sendMessage``; a send whose answer was lost is looked up with ``find_sent``."""

    def request_for(self, message: OutboundMessage) -> HttpCall:
        # No idempotency key exists in Green API's sendMessage, nor templates; a bot question's
        # options are numbered in the text.
        body = {"chatId": chat_id_of(message.to), "message": message.text, "linkPreview": False}
        # Staff alerts carry acknowledgement links: no preview fetches or shows them.
        return HttpCall("POST", _url(message.route, "sendMessage"), _SEND, {"json": body})

    def message_id(self, answer: Any) -> str:
        if not isinstance(answer, dict) or not isinstance(answer.get("idMessage"), str):
            raise PermanentSendError(f"{_SEND} answered without idMessage: {answer!r}")
        return str(answer["idMessage"])

    async def find_sent(
        self, *, route: ChannelRoute, to: str, text: str, since: datetime
    ) -> list[str]:
        """Ids of messages with ``text`` the instance sent to ``to`` since ``since``."""
        chat_id = chat_id_of(to)
        # The journal's timestamps are the instance's clock: allow a minute either way.
        earliest = since.timestamp() - LOOKUP_SKEW_SECONDS
        minutes = min(1440, max(1, math.ceil((time.time() - earliest) / 60) + 1))
        label = "green_api lastOutgoingMessages"
        url = _url(route, "lastOutgoingMessages")
        response = await self.call(HttpCall("GET", url, label, {"params": {"minutes": minutes}}))
        try:
            entries = response.json()
        except ValueError as exc:
            raise PermanentSendError(f"{label} answered non-JSON") from exc
        if not isinstance(entries, list):
            raise PermanentSendError(f"{label} answered no list")
        found: list[tuple[float, str]] = []
        for entry in entries:
            if not isinstance(entry, dict) or entry.get("chatId") != chat_id:
                continue
            extended = entry.get("extendedTextMessage")
            sent_text = entry.get("textMessage")
            if sent_text is None and isinstance(extended, dict):
                sent_text = extended.get("text")
            stamp = entry.get("timestamp")
            id_message = entry.get("idMessage")
            if (
                sent_text == text
                and isinstance(stamp, int | float)
                and stamp >= earliest
                and isinstance(id_message, str)
                and id_message
            ):
                found.append((stamp, id_message))
        return [id_message for _, id_message in sorted(found, reverse=True)]


_SEND = "green_api sendMessage"


def _url(route: ChannelRoute, method: str) -> str:
    """``{apiUrl}/waInstance{idInstance}/{method}/{apiTokenInstance}``."""
    base = (route.credentials.get("api_url") or DEFAULT_API_URL).rstrip("/")
    instance = credential(route, "id_instance")
    token = credential(route, "api_token_instance")
    return f"{base}/waInstance{instance}/{method}/{token}"


def _verify_bearer(route: ChannelRoute, webhook: WebhookRequest) -> None:
    verify(route, authorization=webhook.header("authorization"))


def _parse_payload(route: ChannelRoute, webhook: WebhookRequest) -> list[ParsedEvent]:
    return parse_inbound(route, webhook.payload)


SPEC = ProviderSpec(
    provider=Provider.GREEN_API,
    route="green-api",
    body_format=BodyFormat.JSON,
    verify=_verify_bearer,
    parse_inbound=_parse_payload,
    sender=GreenApiSender,
    doc=WebhookDoc(
        summary="Green API webhooks, authenticated by ``Authorization: Bearer <webhookUrlToken>``.",
        body="A Green API webhook (incomingMessageReceived, outgoingMessageStatus; others "
        "ignored).",
        example={
            "typeWebhook": "incomingMessageReceived",
            "instanceData": {
                "idInstance": 1234,
                "wid": "11001234567@c.us",
                "typeInstance": "whatsapp",
            },
            "timestamp": 1588091580,
            "idMessage": "F7AEC1B7086ECDC7E6E45923F5EDB825",
            "senderData": {"chatId": "79001234568@c.us", "sender": "79001234568@c.us"},
            "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "Hi"}},
        },
        headers=("Authorization",),
    ),
)
