"""Signed sample webhooks, built the way each provider builds them.

``frontdesk demo``, the tests and the benchmark post these to the ingress. Each builder returns
the request path, headers and raw body of one inbound text message, plus the
``provider_message_id`` frontdesk stores it under, so a posted webhook can be matched with its
``messages`` row. Signatures follow the providers' documentation: Green API's bearer
``webhookUrlToken``, Meta's ``X-Hub-Signature-256`` over the body, Twilio's
``X-Twilio-Signature`` over the public URL plus sorted form parameters, Telegram's secret-token
header and Mailgun's HMAC-SHA256 of timestamp and token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from domain.events import Provider
from workers.providers import whatsapp_cloud
from workers.providers.registry import webhook_url

PROVIDERS = ("green_api", "whatsapp_cloud", "twilio_sms", "telegram", "email")
GUEST_FIRST_NAME = "Alex"
GUEST_NAME = "Alex Morgan"


@dataclass(frozen=True, slots=True)
class SampleChannel:
    """What a sender needs to post to one channel: its URL id, secret and provider account."""

    tenant: int
    provider: str
    public_id: str
    webhook_secret: str
    address: str  # our number, bot or mailbox: the recipient of guests' messages
    provider_account: str = ""  # Green API idInstance, Meta phone_number_id, Telegram bot id

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Webhook:
    path: str
    headers: dict[str, str]
    body: bytes
    provider_message_id: str


def guest_number(guest: int) -> str:
    return f"447{guest % 100_000_000:08d}"


def build(
    channel: SampleChannel, *, seq: int, text: str, base_url: str, guest: int | None = None
) -> Webhook:
    """One signed inbound-message webhook; ``seq`` makes every provider id unique.

    ``guest`` numbers the writer (default: a new guest every three messages).
    """
    builder = _BUILDERS[channel.provider]
    phone = guest_number(seq // 3 if guest is None else guest)
    return builder(channel, seq, text, base_url.rstrip("/"), phone)


def resign(channel: SampleChannel, webhook: Webhook, *, base_url: str) -> Webhook:
    """The same message posted again; only Mailgun's single-use token needs a fresh signature."""
    if channel.provider != "email":
        return webhook
    form = dict(parse_qsl(webhook.body.decode(), keep_blank_values=True))
    form.update(_mailgun_signature(channel.webhook_secret))
    body = urlencode(form).encode()
    return Webhook(webhook.path, webhook.headers, body, webhook.provider_message_id)


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    payload = url + "".join(name + value for name, value in sorted(params.items()))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _path(channel: SampleChannel) -> str:
    return webhook_url("", Provider(channel.provider), channel.public_id)


def _json(
    channel: SampleChannel, payload: dict[str, Any], headers: dict[str, str]
) -> tuple[str, dict[str, str], bytes]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return _path(channel), {"content-type": "application/json", **headers}, body


def _green_api(channel: SampleChannel, seq: int, text: str, _base: str, guest: str) -> Webhook:
    message_id = f"SAMPLE{seq:016X}"
    chat = f"{guest}@c.us"
    payload = {
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {
            "idInstance": int(channel.provider_account),
            "wid": f"{channel.address}@c.us",
            "typeInstance": "whatsapp",
        },
        "timestamp": int(time.time()),
        "idMessage": message_id,
        "senderData": {
            "chatId": chat,
            "chatName": GUEST_NAME,
            "sender": chat,
            "senderName": GUEST_NAME,
            "senderContactName": "",
        },
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}},
    }
    headers = {"authorization": f"Bearer {channel.webhook_secret}"}
    return Webhook(*_json(channel, payload, headers), provider_message_id=message_id)


def _whatsapp_cloud(channel: SampleChannel, seq: int, text: str, _base: str, guest: str) -> Webhook:
    wamid = f"wamid.SAMPLE{seq:020d}"
    payload = whatsapp_cloud.notification(
        phone_number_id=channel.provider_account,
        display_phone_number=channel.address,
        guest=guest,
        guest_name=GUEST_NAME,
        wamid=wamid,
        text=text,
        timestamp=int(time.time()),
    )
    path, headers, body = _json(channel, payload, {})
    digest = hmac.new(channel.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    headers["x-hub-signature-256"] = f"sha256={digest}"
    return Webhook(path, headers, body, provider_message_id=wamid)


def _twilio_sms(channel: SampleChannel, seq: int, text: str, base: str, guest: str) -> Webhook:
    sid = f"SM{seq:032x}"
    params = {
        "ToCountry": "GB",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": text,
        "FromCountry": "GB",
        "To": channel.address,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": f"AC{'0' * 32}",
        "From": f"+{guest}",
        "ApiVersion": "2010-04-01",
    }
    path = _path(channel)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": twilio_signature(channel.webhook_secret, base + path, params),
    }
    return Webhook(path, headers, urlencode(params).encode(), provider_message_id=sid)


def _telegram(channel: SampleChannel, seq: int, text: str, _base: str, guest: str) -> Webhook:
    chat_id = int(guest)
    sender = {"id": chat_id, "first_name": GUEST_FIRST_NAME}
    payload = {
        "update_id": 100_000_000 + seq,
        "message": {
            "message_id": seq + 1,
            "from": {**sender, "is_bot": False, "language_code": "en"},
            "chat": {**sender, "type": "private"},
            "date": int(time.time()),
            "text": text,
        },
    }
    headers = {"x-telegram-bot-api-secret-token": channel.webhook_secret}
    return Webhook(*_json(channel, payload, headers), provider_message_id=f"{chat_id}:{seq + 1}")


def _mailgun_signature(signing_key: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    token = secrets.token_hex(25)
    signature = hmac.new(
        signing_key.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    return {"timestamp": timestamp, "token": token, "signature": signature}


def _email(channel: SampleChannel, seq: int, text: str, _base: str, guest: str) -> Webhook:
    message_id = f"sample.{seq}@guests.example.com"
    sender = f"guest{guest}@guests.example.com"
    form = {
        "recipient": channel.address,
        "sender": sender,
        "from": f"{GUEST_NAME} <{sender}>",
        "subject": "Question about my stay",
        "body-plain": text,
        "stripped-text": text,
        "Message-Id": f"<{message_id}>",
        "message-headers": json.dumps(
            [["Message-Id", f"<{message_id}>"], ["Subject", "Question about my stay"]]
        ),
        **_mailgun_signature(channel.webhook_secret),
    }
    headers = {"content-type": "application/x-www-form-urlencoded"}
    return Webhook(_path(channel), headers, urlencode(form).encode(), message_id)


_BUILDERS: dict[str, Callable[[SampleChannel, int, str, str, str], Webhook]] = {
    "green_api": _green_api,
    "whatsapp_cloud": _whatsapp_cloud,
    "twilio_sms": _twilio_sms,
    "telegram": _telegram,
    "email": _email,
}
