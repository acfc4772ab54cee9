"""Twilio Programmable Messaging (SMS/MMS): signature, parsing and sending.

Twilio signs each webhook with ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the auth
token, over the full public URL followed by every POST parameter as name+value, names sorted.
Inbound messages carry ``MessageSid, From, To, Body, NumMedia, MediaUrlN, MediaContentTypeN``;
status callbacks carry ``MessageSid, MessageStatus`` and, on failure, ``ErrorCode``.
Dedup keys: the MessageSid, and ``MessageSid:status`` for status callbacks.

Sending: ``POST {api_base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` (basic auth,
form-encoded ``To, From, Body, StatusCallback``) answers the message ``sid``; ``StatusCallback``
is the channel's status route (``{public_base_url}/webhooks/twilio/{public_id}/status``), so
Twilio reports sent, delivered and failed there. The Messages API takes no idempotency key; a
send whose answer was lost is never retried (``UncertainSendError``). SMS has no templates, so
a template reference is sent as the given text.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from domain.channels import ChannelRoute
from domain.events import (
    ContentType,
    DeliveryStatus,
    DeliveryStatusReceived,
    InboundMessageReceived,
    Location,
    Media,
    Provider,
)
from workers.providers.base import (
    MalformedPayload,
    OutboundMessage,
    ParsedEvent,
    check_presented,
    credential,
    from_channel,
    require_secret,
    storable,
)
from workers.providers.http import HttpCall, HttpSender
from workers.providers.spec import (
    BodyFormat,
    ProviderSpec,
    StatusRoute,
    WebhookDoc,
    WebhookReply,
    WebhookRequest,
)

DEFAULT_API_BASE_URL = "https://api.twilio.com"
MAX_MEDIA = 10

_STATUSES = {
    **dict.fromkeys(("accepted", "scheduled", "queued", "sending"), DeliveryStatus.PENDING),
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.READ,
    **dict.fromkeys(("undelivered", "failed", "canceled"), DeliveryStatus.FAILED),
}


def signature_of(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """Twilio's request signature for ``url`` and the POSTed ``params``."""
    payload = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify(
    route: ChannelRoute,
    *,
    url: str,
    params: Iterable[tuple[str, str]],
    signature: str | None,
) -> None:
    secret = require_secret(route)
    check_presented(
        signature,
        signature_of(secret, url, params) if signature else "",
        missing="missing X-Twilio-Signature header",
        wrong="X-Twilio-Signature does not match the URL and parameters",
    )


def _required(form: Mapping[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise MalformedPayload(f"missing form field {name!r}")
    return value


def parse_inbound(route: ChannelRoute, form: Mapping[str, str]) -> list[ParsedEvent]:
    """An incoming message webhook."""
    form = storable(dict(form))
    sid = _required(form, "MessageSid")
    fields: dict[str, Any] = {"text": form.get("Body") or None}
    media = _media(form)
    if media:
        first_type = (media[0].mime_type or "").split("/")[0]
        fields["content_type"] = {
            "image": ContentType.IMAGE,
            "video": ContentType.VIDEO,
            "audio": ContentType.AUDIO,
        }.get(first_type, ContentType.DOCUMENT)
        fields["media"] = media[0]
        fields["attachments"] = tuple(media[1:])
    elif form.get("Latitude") and form.get("Longitude"):
        fields["content_type"] = ContentType.LOCATION
        fields["location"] = Location.model_validate(
            {
                "latitude": form["Latitude"],
                "longitude": form["Longitude"],
                "address": form.get("Address") or None,
                "name": form.get("Label") or None,
            }
        )
    return [
        InboundMessageReceived(
            **from_channel(route),
            provider_event_id=sid,
            provider_message_id=sid,
            sender_handle=_required(form, "From"),
            sender_name=form.get("ProfileName") or None,
            raw=dict(form),
            **fields,
        )
    ]


def _media(form: Mapping[str, str]) -> list[Media]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError as exc:
        raise MalformedPayload("NumMedia must be an integer") from exc
    if not 0 <= count <= MAX_MEDIA:
        raise MalformedPayload(f"NumMedia must be between 0 and {MAX_MEDIA}")
    return [
        Media(url=_required(form, f"MediaUrl{i}"), mime_type=form.get(f"MediaContentType{i}"))
        for i in range(count)
    ]


def parse_status(route: ChannelRoute, form: Mapping[str, str]) -> list[ParsedEvent]:
    """A status callback for a message frontdesk sent."""
    form = storable(dict(form))
    sid = _required(form, "MessageSid")
    raw_status = form.get("MessageStatus") or form.get("SmsStatus")
    if not raw_status:
        raise MalformedPayload("missing form field 'MessageStatus'")
    status = _STATUSES.get(raw_status)
    if status is None:
        return []  # receiving/received describe inbound messages, not ours
    return [
        DeliveryStatusReceived(
            **from_channel(route),
            provider_event_id=f"{sid}:{raw_status}",
            provider_message_id=sid,
            status=status,
            error_code=form.get("ErrorCode") or None,
            error_message=form.get("ErrorMessage") or None,
            raw=dict(form),
        )
    ]


class TwilioSmsSender(HttpSender):
    """``Messages.json`` with basic auth; without a ``public_base_url`` in the settings (where
    Twilio reaches the ingress) no status callbacks are asked for."""

    def status_callback_url(self, route: ChannelRoute) -> str | None:
        base = self._settings.public_base_url
        if base is None or SPEC.status is None:
            return None
        return f"{SPEC.webhook_url(base, route.public_id)}/{SPEC.status.path}"

    def request_for(self, message: OutboundMessage) -> HttpCall:
        # SMS has no idempotency key, templates, threads or buttons: the text is sent as it is.
        route = message.route
        base = (route.credentials.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        account_sid = credential(route, "account_sid")
        auth_token = credential(route, "auth_token")
        sender = route.credentials.get("from_number") or route.address
        form = {"To": message.to, "From": sender, "Body": message.text}
        callback = self.status_callback_url(route)
        if callback is not None:
            form["StatusCallback"] = callback
        url = f"{base}/2010-04-01/Accounts/{account_sid}/Messages.json"
        options = {"auth": (account_sid, auth_token), "data": form}
        return HttpCall("POST", url, "twilio Messages.json", options)

    def message_id(self, answer: Any) -> str:
        return str(answer["sid"])


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _verify_signed_form(route: ChannelRoute, webhook: WebhookRequest) -> None:
    """The signature covers the public URL, query included, and every form field."""
    signature = webhook.header("x-twilio-signature")
    verify(route, url=webhook.url, params=webhook.params, signature=signature)


def _parse_form(route: ChannelRoute, webhook: WebhookRequest) -> list[ParsedEvent]:
    return parse_inbound(route, webhook.form)


def _parse_status_form(route: ChannelRoute, webhook: WebhookRequest) -> list[ParsedEvent]:
    return parse_status(route, webhook.form)


def _reply(webhook: WebhookRequest, events: list[ParsedEvent]) -> WebhookReply:
    """Empty TwiML: Twilio would otherwise log a warning for every message."""
    return WebhookReply(EMPTY_TWIML, media_type="text/xml")


SPEC = ProviderSpec(
    provider=Provider.TWILIO_SMS,
    route="twilio",
    body_format=BodyFormat.FORM,
    verify=_verify_signed_form,
    parse_inbound=_parse_form,
    sender=TwilioSmsSender,
    doc=WebhookDoc(
        summary="Twilio incoming messages, signed with ``X-Twilio-Signature``; answers empty "
        "TwiML.",
        body="Twilio's incoming message webhook.",
        fields={
            "MessageSid": "Message SID, the dedup key.",
            "From": "Sender's phone number (E.164).",
            "To": "The channel's number.",
            "Body": "Message text.",
            "NumMedia": "Number of media items.",
            "MediaUrl0": "URL of the first media item.",
            "MediaContentType0": "MIME type of the first media item.",
        },
        headers=("X-Twilio-Signature",),
    ),
    status=StatusRoute(
        path="status",
        parse=_parse_status_form,
        doc=WebhookDoc(
            summary="Twilio status callbacks for outbound messages, signed like inbound ones.",
            body="Twilio's status callback for an outbound message.",
            fields={
                "MessageSid": "Message SID of the outbound message.",
                "MessageStatus": "queued, sent, delivered, undelivered, failed or read.",
                "ErrorCode": "Twilio error code when undelivered or failed.",
            },
            headers=("X-Twilio-Signature",),
        ),
    ),
    reply=_reply,
)
