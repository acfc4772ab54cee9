"""Telegram Bot API: webhook secret, update parsing and sending.

``setWebhook(secret_token=...)`` makes Telegram send ``X-Telegram-Bot-Api-Secret-Token`` with
every update; it must equal the channel's webhook secret. Handled updates: ``message`` and
``edited_message`` (text, photo, document, audio, video, voice, location, contact), and
``callback_query`` for a bot dialogue's buttons (its ``flow:<value>`` payload becomes the
message text; the webhook is answered with ``answerCallbackQuery``); others (channel posts,
member changes) yield no event. The dedup key is
``<bot id>:<update_id>``, update ids being unique per bot only.

An ``edited_message`` carries the message's id and its new content, with ``edit_date``. It
becomes an event with ``edited_at`` set: intake puts the new text on the stored message and
records when it was edited (the previous text stays in the message's comms_events audit trail),
rather than storing a second message, so staff and the assistant see one message, as the guest
does. An edit older than the one stored is ignored; an edit of a message frontdesk never got is
stored as that message.

Files arrive as ``file_id``s: ``Media.url`` is ``telegram-file:<file_id>``, resolved through
``getFile`` by whoever needs the bytes; the caption and ``file_size`` go on the media too.
Sending uses ``{api_base_url}/bot{token}/sendMessage`` with link previews off; the Bot API
takes no idempotency key and cannot list what a bot sent, so a send whose answer was lost is
never retried (``UncertainSendError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import httpx
import structlog
from pydantic import Field

from domain.channels import ChannelRoute
from domain.events import (
    Contact,
    ContentType,
    InboundMessageReceived,
    Location,
    Media,
    Provider,
    utcnow,
)
from domain.flows.model import Option
from domain.flows.render import CALLBACK_PREFIX, telegram_keyboard
from workers.providers.base import (
    LooseModel,
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
    WebhookDoc,
    WebhookReply,
    WebhookRequest,
)

DEFAULT_API_BASE_URL = "https://api.telegram.org"
log = structlog.get_logger(__name__)

_FILES = {
    "document": ContentType.DOCUMENT,
    "audio": ContentType.AUDIO,
    "voice": ContentType.AUDIO,
    "video": ContentType.VIDEO,
}


class Chat(LooseModel):
    id: int


class User(LooseModel):
    id: int
    first_name: str = ""
    last_name: str | None = None
    username: str | None = None


class Message(LooseModel):
    message_id: int
    date: datetime
    chat: Chat
    sender: User | None = Field(default=None, alias="from")
    text: str | None = None
    caption: str | None = None
    edit_date: datetime | None = None


class CallbackQuery(LooseModel):
    """An inline keyboard button pressed under one of the bot's messages."""

    id: str
    sender: User | None = Field(default=None, alias="from")
    message: Message | None = None
    data: str | None = None


class Update(LooseModel):
    update_id: int
    message: Message | None = None
    edited_message: Message | None = None
    callback_query: CallbackQuery | None = None


def verify(route: ChannelRoute, *, secret_token: str | None) -> None:
    check_presented(
        secret_token,
        require_secret(route),
        missing="missing X-Telegram-Bot-Api-Secret-Token header",
        wrong="X-Telegram-Bot-Api-Secret-Token does not match",
    )


def bot_id(route: ChannelRoute) -> str:
    """The bot's numeric id (the part of its token before ':'), else the channel id."""
    token = route.credentials.get("bot_token", "")
    prefix = token.partition(":")[0]
    return prefix if prefix.isdigit() else str(route.channel_id)


def parse_inbound(route: ChannelRoute, payload: Any) -> list[ParsedEvent]:
    payload = storable(payload)
    update = Update.model_validate(payload)
    if update.callback_query is not None:
        return _pressed(route, update, update.callback_query, payload)
    message = update.message or update.edited_message
    if message is None:
        return []
    fields = _content(message)
    if update.message is None:
        # Telegram always dates an edit; the update's arrival stands in should it not.
        fields["edited_at"] = message.edit_date or utcnow()
    return _received(
        route,
        update,
        message.sender,
        provider_message_id=f"{message.chat.id}:{message.message_id}",
        sender_handle=str(message.chat.id),
        sent_at=message.date,
        raw=payload,
        **fields,
    )


def _received(
    route: ChannelRoute, update: Update, user: User | None, **fields: Any
) -> list[ParsedEvent]:
    """The one event ``update`` makes: a guest's message from ``user``."""
    name = " ".join(p for p in (user.first_name, user.last_name) if p) if user else ""
    return [
        InboundMessageReceived(
            **from_channel(route),
            provider_event_id=f"{bot_id(route)}:{update.update_id}",
            sender_name=name or None,
            **fields,
        )
    ]


def _pressed(
    route: ChannelRoute, update: Update, query: CallbackQuery, payload: Any
) -> list[ParsedEvent]:
    """A button of a bot dialogue (``flow:<value>``) becomes the guest's answer, as if typed;
    any other press (an old keyboard, another bot's payload) is acknowledged and ignored."""
    if query.message is None or not (query.data or "").startswith(CALLBACK_PREFIX):
        log.info("telegram_callback_ignored", channel_id=str(route.channel_id))
        return []
    return _received(
        route,
        update,
        query.sender,
        provider_message_id=f"{query.message.chat.id}:callback:{query.id}"[:255],
        sender_handle=str(query.message.chat.id),
        sent_at=utcnow(),
        text=query.data,
        raw=payload,
    )


def webhook_answer(payload: Any) -> dict[str, str] | None:
    """What to answer a callback query's webhook with: ``answerCallbackQuery`` (Telegram runs
    a method named in the webhook's response), so the button stops spinning at once."""
    query = payload.get("callback_query") if isinstance(payload, dict) else None
    if isinstance(query, dict) and isinstance(query.get("id"), str):
        return {"method": "answerCallbackQuery", "callback_query_id": query["id"]}
    return None


def _content(message: Message) -> dict[str, Any]:
    extra = message.model_extra or {}
    photo = extra.get("photo")
    if isinstance(photo, list) and photo and isinstance(photo[-1], dict):
        # Sizes come smallest first; the last one is the original.
        return {
            "content_type": ContentType.IMAGE,
            "media": Media(
                url=_file_url(photo[-1]),
                mime_type="image/jpeg",
                caption=message.caption or None,
                size_bytes=_size(photo[-1]),
            ),
            "text": message.caption,
        }
    for key, content_type in _FILES.items():
        file = extra.get(key)
        if isinstance(file, dict):
            return {
                "content_type": content_type,
                "media": Media(
                    url=_file_url(file),
                    mime_type=_str(file.get("mime_type")),
                    file_name=_str(file.get("file_name")),
                    caption=message.caption or None,
                    size_bytes=_size(file),
                ),
                "text": message.caption,
            }
    location = extra.get("location")
    if isinstance(location, dict):
        return {
            "content_type": ContentType.LOCATION,
            "location": Location.model_validate(
                {"latitude": location.get("latitude"), "longitude": location.get("longitude")}
            ),
        }
    contact = extra.get("contact")
    if isinstance(contact, dict):
        names = (contact.get("first_name"), contact.get("last_name"))
        phone = contact.get("phone_number")
        return {
            "content_type": ContentType.CONTACT,
            "contact": Contact(
                name=" ".join(n for n in names if isinstance(n, str) and n),
                phones=(phone,) if isinstance(phone, str) and phone else (),
            ),
        }
    return {"text": message.text}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _size(file: dict[str, Any]) -> int | None:
    size = file.get("file_size")
    return size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None


def _file_url(file: dict[str, Any]) -> str:
    file_id = file.get("file_id")
    if not isinstance(file_id, str) or not file_id:
        raise MalformedPayload("file_id must be a non-empty string")
    return f"telegram-file:{file_id}"


class TelegramSender(HttpSender):
    """``sendMessage`` with the bot's token in the path."""

    def request_for(self, message: OutboundMessage) -> HttpCall:
        # The Bot API has no idempotency key, templates or replies to another chat's message.
        base = (message.route.credentials.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
        token = credential(message.route, "bot_token")
        body = message_body(to=message.to, text=message.text, options=message.options)
        return HttpCall("POST", f"{base}/bot{token}/sendMessage", _LABEL, {"json": body})

    def message_id(self, answer: Any) -> str:
        result = answer["result"]
        return f"{result['chat']['id']}:{result['message_id']}"

    def classify(self, response: httpx.Response) -> tuple[bool, float | None] | None:
        # The Bot API puts its flood-wait in the body: {"parameters": {"retry_after": 5}}.
        try:
            retry_after = float(response.json()["parameters"]["retry_after"])
        except (ValueError, KeyError, TypeError):
            return None
        return True, retry_after


_LABEL = "telegram sendMessage"


def message_body(*, to: str, text: str, options: Sequence[tuple[str, str]] = ()) -> dict[str, Any]:
    """``sendMessage``'s body: link previews off (staff alerts carry acknowledgement links), and
    a bot question's options as an inline keyboard."""
    body: dict[str, Any] = {
        "chat_id": to,
        "text": text,
        "link_preview_options": {"is_disabled": True},
    }
    if options:
        body["reply_markup"] = telegram_keyboard([Option(value=v, label=n) for v, n in options])
    return body


def _verify_secret_token(route: ChannelRoute, webhook: WebhookRequest) -> None:
    verify(route, secret_token=webhook.header("x-telegram-bot-api-secret-token"))


def _parse_payload(route: ChannelRoute, webhook: WebhookRequest) -> list[ParsedEvent]:
    return parse_inbound(route, webhook.payload)


def _reply(webhook: WebhookRequest, events: list[ParsedEvent]) -> WebhookReply | None:
    """A button press is answered with ``answerCallbackQuery``, which stops its spinner."""
    answer = webhook_answer(webhook.payload)
    return WebhookReply(answer) if answer else None


SPEC = ProviderSpec(
    provider=Provider.TELEGRAM,
    route="telegram",
    body_format=BodyFormat.JSON,
    verify=_verify_secret_token,
    parse_inbound=_parse_payload,
    sender=TelegramSender,
    doc=WebhookDoc(
        summary="Telegram updates, authenticated by ``X-Telegram-Bot-Api-Secret-Token``.",
        body="A Telegram Update (message and edited_message handled; others ignored).",
        example={
            "update_id": 99737762,
            "message": {
                "message_id": 3746,
                "from": {"id": 993903016, "is_bot": False, "first_name": "Mher"},
                "chat": {"id": 993903016, "type": "private"},
                "date": 1639926765,
                "text": "Sample message contents",
            },
        },
        headers=("X-Telegram-Bot-Api-Secret-Token",),
    ),
    reply=_reply,
)
