"""A bot message per channel: options as buttons where the channel has them, numbered otherwise.

Telegram gets an inline keyboard (one button per row, ``callback_data`` = ``flow:<value>``,
at most 64 bytes); WhatsApp Cloud gets reply buttons when there are at most 3 options whose
labels fit in 20 characters, else a list (at most 10 rows, titles up to 24 characters); SMS,
e-mail and Green API get the options numbered in the text. Whatever the channel, the guest may
answer with the number, the label or in their own words.
"""

from __future__ import annotations

from typing import Any

from domain.flows.engine import Say
from domain.flows.model import Option

CALLBACK_PREFIX = "flow:"
WHATSAPP_MAX_BUTTONS = 3
WHATSAPP_BUTTON_TITLE = 20
WHATSAPP_MAX_ROWS = 10
WHATSAPP_ROW_TITLE = 24
BUTTON_PROVIDERS = frozenset({"telegram", "whatsapp_cloud"})


def numbered(say: Say) -> str:
    """The text with its options numbered below it (every channel can show this)."""
    if not say.options:
        return say.text
    lines = [f"{index}. {option.label}" for index, option in enumerate(say.options, start=1)]
    return "\n".join([say.text, "", *lines])


def text_for(say: Say, provider: str) -> str:
    """What the message's text is on ``provider``: buttons carry the options where it has them."""
    return say.text if say.options and provider in BUTTON_PROVIDERS else numbered(say)


def callback_data(option: Option) -> str:
    return f"{CALLBACK_PREFIX}{option.value}"[:64]


def interactive(say: Say, provider: str) -> dict[str, Any] | None:
    """The provider's own structure for the options (None: they are in the text)."""
    if not say.options:
        return None
    if provider == "telegram":
        keyboard = [[{"text": o.label, "callback_data": callback_data(o)}] for o in say.options]
        return {"inline_keyboard": keyboard}
    if provider == "whatsapp_cloud":
        short = all(len(o.label) <= WHATSAPP_BUTTON_TITLE for o in say.options)
        if len(say.options) <= WHATSAPP_MAX_BUTTONS and short:
            buttons = [
                {"type": "reply", "reply": {"id": callback_data(o), "title": o.label}}
                for o in say.options
            ]
            return {"type": "button", "action": {"buttons": buttons}}
        rows = [
            {"id": callback_data(o), "title": o.label[:WHATSAPP_ROW_TITLE]}
            for o in say.options[:WHATSAPP_MAX_ROWS]
        ]
        return {"type": "list", "action": {"button": "Options", "sections": [{"rows": rows}]}}
    return None


def chosen(payload: str) -> str | None:
    """The option value a button press carries (``flow:<value>``), else None."""
    return payload[len(CALLBACK_PREFIX) :] or None if payload.startswith(CALLBACK_PREFIX) else None
