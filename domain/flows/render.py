"""A bot message per channel: options as buttons where the channel has them, numbered otherwise.

Every channel gets the options numbered in the text (SMS, e-mail and Green API get nothing
else). Telegram adds an inline keyboard (one button per row, ``callback_data`` =
``flow:<value>``, at most 64 bytes); WhatsApp Cloud sends an interactive message: reply buttons
when there are at most 3 options whose labels fit in 20 characters, else a list (at most 10
rows, titles up to 24 characters). Whatever the channel, the guest may answer with the number,
the label, a button or in their own words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.flows.engine import Say
from domain.flows.model import Option

CALLBACK_PREFIX = "flow:"
WHATSAPP_MAX_BUTTONS = 3
WHATSAPP_BUTTON_TITLE = 20
WHATSAPP_MAX_ROWS = 10
WHATSAPP_ROW_TITLE = 24
WHATSAPP_BODY = 1024
WHATSAPP_LIST_BUTTON = "Choose"


def numbered(say: Say) -> str:
    """The text with its options numbered below it (every channel can show this)."""
    if not say.options:
        return say.text
    lines = [f"{index}. {option.label}" for index, option in enumerate(say.options, start=1)]
    return "\n".join([say.text, "", *lines])


def callback_data(option: Option) -> str:
    return f"{CALLBACK_PREFIX}{option.value}"[:64]


def telegram_keyboard(options: Sequence[Option]) -> dict[str, Any]:
    """An inline keyboard, one button a row (``reply_markup`` of ``sendMessage``)."""
    return {
        "inline_keyboard": [[{"text": o.label, "callback_data": callback_data(o)}] for o in options]
    }


def whatsapp_interactive(text: str, options: Sequence[Option]) -> dict[str, Any]:
    """The ``interactive`` object of a WhatsApp Cloud message: reply buttons when they fit,
    else a list."""
    body = {"text": text[:WHATSAPP_BODY]}
    if len(options) <= WHATSAPP_MAX_BUTTONS and all(
        len(o.label) <= WHATSAPP_BUTTON_TITLE for o in options
    ):
        buttons = [
            {"type": "reply", "reply": {"id": callback_data(o), "title": o.label}} for o in options
        ]
        return {"type": "button", "body": body, "action": {"buttons": buttons}}
    rows = [
        {"id": callback_data(o), "title": o.label[:WHATSAPP_ROW_TITLE]}
        for o in options[:WHATSAPP_MAX_ROWS]
    ]
    return {
        "type": "list",
        "body": body,
        "action": {
            "button": WHATSAPP_LIST_BUTTON,
            "sections": [{"title": "Options", "rows": rows}],
        },
    }


def interactive(say: Say, provider: str) -> dict[str, Any] | None:
    """The provider's own structure for the options (None: they are in the text only)."""
    if not say.options:
        return None
    if provider == "telegram":
        return telegram_keyboard(say.options)
    if provider == "whatsapp_cloud":
        return whatsapp_interactive(numbered(say), say.options)
    return None


def chosen(payload: str) -> str | None:
    """The option value a button press carries (``flow:<value>``), else None."""
    return payload[len(CALLBACK_PREFIX) :] or None if payload.startswith(CALLBACK_PREFIX) else None
