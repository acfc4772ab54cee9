"""Meta WhatsApp Cloud API: webhook signature, parsing and sending.

Webhooks are signed ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>``;
the subscription handshake answers ``hub.challenge`` when ``hub.verify_token`` matches.
One POST may carry several entries, changes, messages and statuses; each becomes one event.
Changes for another phone number of the same app (``metadata.phone_number_id``) are skipped,
because a Meta app posts every number's traffic to one callback URL.
Dedup keys: the message's wamid, and ``wamid:status`` for statuses.

An ``edit`` message (``edit: {original_message_id, message}``, sent for WhatsApp Business app
numbers) has its own wamid, the dedup key, and becomes an event about the original message with
``edited_at`` set and the edited content, which intake puts on the stored message (see
``workers.consumers.intake``).

A number on Cloud API and the WhatsApp Business app at once ("coexistence") reports what staff
type in the app as ``smb_message_echoes`` (``message_echoes: [{from, to, id, timestamp, type,
<type>: …}]``) when the app subscribes to that field: each becomes ``OutboundMessageObserved``
(dedup key ``echo:<wamid>``), stored once as a staff message that cancels drafted auto-replies.

Media arrives as a media id, not a URL: ``Media.url`` is the payload's ``url`` when Meta sends
one, otherwise ``whatsapp-media:<id>``, to be fetched through ``GET /{media-id}`` with the
channel's token by whoever needs the bytes.

Sending: ``POST https://graph.facebook.com/{version}/{phone_number_id}/messages`` (the Graph
API version is ``FRONTDESK_WHATSAPP_GRAPH_VERSION``; a channel's ``api_base_url`` replaces the
whole base) with a bearer token, a text without link preview or an approved template. The
Cloud API takes no idempotency key; a send whose answer was lost is never retried
(``UncertainSendError``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import httpx
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
from domain.flows.model import Option
from domain.flows.render import CALLBACK_PREFIX, whatsapp_interactive
from workers.providers import http
from workers.providers.base import (
    LooseModel,
    MalformedPayload,
    OutboundMessage,
    ParsedEvent,
    TemplateRef,
    WebhookForbidden,
    check_presented,
    credential,
    from_channel,
    require_secret,
    secrets_equal,
    storable,
)
from workers.providers.spec import (
    BodyFormat,
    Handshake,
    ProviderSpec,
    WebhookDoc,
    WebhookRequest,
)

GRAPH_URL = "https://graph.facebook.com"
# Meta lists v25.0 (February 2026) as available until July 2028.
DEFAULT_GRAPH_VERSION = "v25.0"

_STATUSES = {
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    "played": DeliveryStatus.READ,
    "failed": DeliveryStatus.FAILED,
}
_MEDIA = {
    "image": ContentType.IMAGE,
    "sticker": ContentType.IMAGE,
    "video": ContentType.VIDEO,
    "audio": ContentType.AUDIO,
    "document": ContentType.DOCUMENT,
}
# Reactions change no conversation; frontdesk does not show them to staff.
_IGNORED = {"reaction"}
# Graph API error codes that mean "too much, later" rather than "never".
_THROTTLED = {4, 80007, 130429, 131048, 131056}


class Message(LooseModel):
    sender: str = Field(alias="from", min_length=1)
    id: str = Field(min_length=1)
    timestamp: datetime
    type: str


class Echo(LooseModel):
    """A message the business sent from the WhatsApp Business app or a linked device (a number
    on Cloud API and the app at once, "coexistence"), reported in ``smb_message_echoes``."""

    sender: str | None = Field(default=None, alias="from")
    to: str = Field(min_length=1)
    id: str = Field(min_length=1)
    timestamp: datetime
    type: str


class Status(LooseModel):
    id: str = Field(min_length=1)
    status: str
    timestamp: datetime | None = None
    recipient_id: str | None = None
    errors: list[dict[str, Any]] = Field(default_factory=list)


class Metadata(LooseModel):
    phone_number_id: str | None = None


class Value(LooseModel):
    metadata: Metadata = Field(default_factory=Metadata)
    contacts: list[dict[str, Any]] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    statuses: list[Status] = Field(default_factory=list)
    message_echoes: list[Echo] = Field(default_factory=list)


class Change(LooseModel):
    field: str | None = None
    value: Value = Field(default_factory=Value)


class Entry(LooseModel):
    changes: list[Change] = Field(default_factory=list)


class Notification(LooseModel):
    object: str | None = None
    entry: list[Entry]


def verify(route: ChannelRoute, *, body: bytes, signature: str | None) -> None:
    secret = require_secret(route)
    check_presented(
        signature,
        "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest(),
        missing="missing X-Hub-Signature-256 header",
        wrong="X-Hub-Signature-256 does not match the body",
    )


def verify_subscription(route: ChannelRoute, *, mode: str | None, token: str | None) -> None:
    """The GET handshake Meta sends when the webhook is configured."""
    expected = route.credentials.get("verify_token")
    if not expected:
        raise WebhookForbidden("channel has no verify_token configured")
    if mode != "subscribe" or token is None or not secrets_equal(token, expected):
        raise WebhookForbidden("hub.mode must be 'subscribe' and hub.verify_token must match")


def parse_inbound(route: ChannelRoute, payload: Any) -> list[ParsedEvent]:
    notification = Notification.model_validate(storable(payload))
    own_number = route.credentials.get("phone_number_id")
    events: list[ParsedEvent] = []
    for entry in notification.entry:
        for change in entry.changes:
            if change.field not in (None, "messages", "smb_message_echoes"):
                continue
            value = change.value
            if own_number and value.metadata.phone_number_id not in (None, own_number):
                continue
            names = _profile_names(value.contacts)
            events.extend(
                _inbound(route, m, names) for m in value.messages if m.type not in _IGNORED
            )
            events.extend(_status(route, s) for s in value.statuses if s.status in _STATUSES)
            events.extend(_echo(route, e) for e in value.message_echoes if e.type not in _IGNORED)
    return events


def _profile_names(contacts: list[dict[str, Any]]) -> dict[str, str]:
    names: dict[str, str] = {}
    for contact in contacts:
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        if isinstance(contact.get("wa_id"), str) and isinstance(name, str):
            names[contact["wa_id"]] = name
    return names


def _inbound(route: ChannelRoute, message: Message, names: dict[str, str]) -> ParsedEvent:
    part = message.model_extra.get(message.type) if message.model_extra else None
    fields: dict[str, Any] = {"provider_message_id": message.id}
    if message.type == "edit":
        edit = part if isinstance(part, dict) else {}
        original, edited = edit.get("original_message_id"), edit.get("message")
        if not (isinstance(original, str) and original and isinstance(edited, dict)):
            raise MalformedPayload("an edit needs original_message_id and message")
        kind = edited.get("type")
        fields.update(_content(kind, edited.get(kind) if isinstance(kind, str) else None))
        fields.update(provider_message_id=original, edited_at=message.timestamp)
    else:
        fields.update(_content(message.type, part))
    return InboundMessageReceived(
        **from_channel(route),
        provider_event_id=message.id,
        sender_handle=_e164(message.sender),
        sender_name=names.get(message.sender),
        sent_at=message.timestamp,
        raw=message.model_dump(mode="json", by_alias=True),
        **fields,
    )


def _echo(route: ChannelRoute, echo: Echo) -> OutboundMessageObserved:
    """A reply staff typed in the WhatsApp Business app, read like a guest's message."""
    part = echo.model_extra.get(echo.type) if echo.model_extra else None
    content = _content(echo.type, part)
    content.pop("location", None)
    content.pop("contact", None)
    return OutboundMessageObserved(
        **from_channel(route),
        provider_event_id=f"echo:{echo.id}",
        provider_message_id=echo.id,
        recipient_handle=_e164(echo.to),
        via="phone",
        sent_at=echo.timestamp,
        raw=echo.model_dump(mode="json", by_alias=True),
        **content,
    )


def _content(kind: Any, part: Any) -> dict[str, Any]:
    """The event fields for one message part of type ``kind``."""
    body = part if isinstance(part, dict) else {}
    fields: dict[str, Any] = {}
    if kind == "text":
        fields["text"] = _str(body.get("body"))
    elif isinstance(kind, str) and kind in _MEDIA:
        media_id = _str(body.get("id"))
        fields["content_type"] = _MEDIA[kind]
        fields["media"] = Media(
            url=_str(body.get("url")) or f"whatsapp-media:{media_id}",
            mime_type=_str(body.get("mime_type")),
            file_name=_str(body.get("filename")),
            caption=_str(body.get("caption")),
        )
        fields["text"] = _str(body.get("caption"))
    elif kind == "location":
        fields["content_type"] = ContentType.LOCATION
        fields["location"] = Location.model_validate(
            {k: body.get(k) for k in ("latitude", "longitude", "name", "address")}
        )
    elif kind == "contacts" and isinstance(part, list) and part:
        fields["content_type"] = ContentType.CONTACT
        fields["contact"] = _contact(part[0])
    elif kind == "button":
        fields["text"] = _str(body.get("text"))
    elif kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply")
        reply = reply if isinstance(reply, dict) else {}
        # A bot question's button carries its option (``flow:<value>``); others their title.
        chosen = _str(reply.get("id"))
        flow_button = chosen is not None and chosen.startswith(CALLBACK_PREFIX)
        fields["text"] = chosen if flow_button else _str(reply.get("title"))
    else:
        # Unsupported types are kept as a text-less message, so staff still see that the
        # guest wrote something.
        fields["text"] = None
    return fields


def _contact(card: Any) -> Contact:
    card = card if isinstance(card, dict) else {}
    name = card.get("name")
    formatted = name.get("formatted_name") if isinstance(name, dict) else None
    phones = card.get("phones") if isinstance(card.get("phones"), list) else []
    numbers = tuple(p["phone"] for p in phones if isinstance(p, dict) and _str(p.get("phone")))
    return Contact(name=_str(formatted) or "", phones=numbers)


def _status(route: ChannelRoute, status: Status) -> ParsedEvent:
    error = status.errors[0] if status.errors else {}
    code = error.get("code")
    return DeliveryStatusReceived(
        **from_channel(route),
        provider_event_id=f"{status.id}:{status.status}",
        provider_message_id=status.id,
        status=_STATUSES[status.status],
        error_code=str(code) if code is not None else None,
        error_message=_str(error.get("message")) or _str(error.get("title")),
        raw=status.model_dump(mode="json", by_alias=True),
    )


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _e164(wa_id: str) -> str:
    return f"+{wa_id}" if wa_id.isdigit() else wa_id


class WhatsAppCloudSender(http.HttpSender):
    """``POST /{phone_number_id}/messages`` with the channel's bearer token."""

    def request_for(self, message: OutboundMessage) -> http.HttpCall:
        # The Cloud API takes neither an idempotency key nor a message to reply to.
        token = credential(message.route, "access_token")
        body = message_body(
            to=message.to, text=message.text, template=message.template, options=message.options
        )
        options = {"headers": {"Authorization": f"Bearer {token}"}, "json": body}
        return http.HttpCall("POST", self.messages_url(message.route), _LABEL, options)

    def message_id(self, answer: Any) -> str:
        return str(answer["messages"][0]["id"])

    def classify(self, response: httpx.Response) -> tuple[bool, float | None] | None:
        try:
            error = response.json().get("error", {})
            code = int(error.get("code"))
        except (ValueError, TypeError, AttributeError):
            return None
        if code in _THROTTLED:
            return True, http.parse_retry_after(response.headers.get("Retry-After"))
        return None

    def messages_url(self, route: ChannelRoute) -> str:
        version = self._settings.whatsapp_graph_version or DEFAULT_GRAPH_VERSION
        base = (route.credentials.get("api_base_url") or f"{GRAPH_URL}/{version}").rstrip("/")
        return f"{base}/{credential(route, 'phone_number_id')}/messages"


_LABEL = "whatsapp_cloud messages"


def message_body(
    *,
    to: str,
    text: str,
    template: TemplateRef | None,
    options: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to.lstrip("+"),
    }
    if template is None and options:
        # A bot question: reply buttons (at most 3, titles up to 20 characters) or a list.
        choices = [Option(value=value, label=label) for value, label in options]
        body.update(type="interactive", interactive=whatsapp_interactive(text, choices))
        return body
    if template is None:
        body.update(type="text", text={"preview_url": False, "body": text})
        return body
    components = []
    if template.parameters:
        parameters = [{"type": "text", "text": value} for value in template.parameters]
        components.append({"type": "body", "parameters": parameters})
    body.update(
        type="template",
        template={
            "name": template.name,
            "language": {"code": template.language},
            "components": components,
        },
    )
    return body


def notification(
    *,
    phone_number_id: str,
    display_phone_number: str,
    guest: str,
    guest_name: str,
    wamid: str,
    text: str,
    timestamp: int,
) -> dict[str, Any]:
    """A Cloud API notification of one inbound text message, as Meta posts it."""
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {
                                "display_phone_number": display_phone_number,
                                "phone_number_id": phone_number_id,
                            },
                            "contacts": [{"profile": {"name": guest_name}, "wa_id": guest}],
                            "messages": [
                                {
                                    "from": guest,
                                    "id": wamid,
                                    "timestamp": str(timestamp),
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }


def _verify_body_signature(route: ChannelRoute, webhook: WebhookRequest) -> None:
    verify(route, body=webhook.body, signature=webhook.header("x-hub-signature-256"))


def _parse_payload(route: ChannelRoute, webhook: WebhookRequest) -> list[ParsedEvent]:
    return parse_inbound(route, webhook.payload)


def _verify_handshake(route: ChannelRoute, query: Mapping[str, str]) -> None:
    verify_subscription(route, mode=query.get("hub.mode"), token=query.get("hub.verify_token"))


SPEC = ProviderSpec(
    provider=Provider.WHATSAPP_CLOUD,
    route="whatsapp",
    body_format=BodyFormat.JSON,
    verify=_verify_body_signature,
    parse_inbound=_parse_payload,
    sender=WhatsAppCloudSender,
    doc=WebhookDoc(
        summary="WhatsApp Cloud API notifications, signed with ``X-Hub-Signature-256``.",
        body="A WhatsApp Cloud API notification: entries of changes with messages and statuses.",
        example=notification(
            phone_number_id="106540352242922",
            display_phone_number="15550783881",
            guest="16505551234",
            guest_name="Alex Morgan",
            wamid="wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
            text="Does it come in another color?",
            timestamp=1749416383,
        ),
        headers=("X-Hub-Signature-256",),
    ),
    verify_subscription=Handshake(
        verify=_verify_handshake,
        challenge="hub.challenge",
        query=("hub.mode", "hub.verify_token", "hub.challenge"),
    ),
)
