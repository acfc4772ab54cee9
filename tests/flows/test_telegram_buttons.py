"""Telegram inline keyboards through the real ingress and dispatcher: a dialogue's question goes
out with its options as buttons, a press answers it and the webhook is answered with
answerCallbackQuery; an unknown payload is acknowledged and ignored."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import httpx

from persistence.demo.flows import LATE_CHECKOUT
from tests.conftest import MakeTenant
from tests.flows.conftest import FlowSystem, eventually
from tests.pipeline.conftest import GuestChannel
from workers.webhook_samples import guest_number


async def press(guests: GuestChannel, data: str, *, guest: int) -> tuple[httpx.Response, str]:
    """The guest presses a button carrying ``data`` under the bot's last message."""
    chat_id = int(guest_number(guest))
    query_id = uuid4().hex
    sender = {"id": chat_id, "first_name": "Alex", "is_bot": False}
    payload: dict[str, Any] = {
        "update_id": 300_000_000 + int(uuid4().int % 10**8),
        "callback_query": {
            "id": query_id,
            "from": sender,
            "chat_instance": "42",
            "data": data,
            "message": {
                "message_id": 7,
                "date": 1_700_000_000,
                "chat": {"id": chat_id, "type": "private", "first_name": "Alex"},
                "from": {"id": 424242, "is_bot": True, "first_name": "Bot"},
                "text": "Until what time would you like to keep the room?",
            },
        },
    }
    response = await guests.system.http.post(
        f"/webhooks/telegram/{guests.channel.public_id}",
        content=json.dumps(payload).encode(),
        headers={
            "content-type": "application/json",
            "x-telegram-bot-api-secret-token": guests.channel.webhook_secret,
        },
    )
    return response, f"{chat_id}:callback:{query_id}"


async def test_a_keyboard_button_answers_the_question_and_the_callback_is_acknowledged(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("late_checkout", LATE_CHECKOUT))
    await flows.reply_to(await guests.say("late checkout please", guest=11))
    await flows.reply_to(await guests.say("118", guest=11))
    chat_id = guest_number(11)

    async def keyboard() -> list[dict[str, Any]]:
        return [
            entry["body"]["reply_markup"]
            for entry in flows.system.sent_to_provider("telegram")
            if str(entry["body"].get("chat_id")) == chat_id and "reply_markup" in entry["body"]
        ]

    (markup,) = await eventually(keyboard)
    assert markup == {
        "inline_keyboard": [
            [{"text": "12:00", "callback_data": "flow:12:00"}],
            [{"text": "14:00", "callback_data": "flow:14:00"}],
            [{"text": "16:00", "callback_data": "flow:16:00"}],
        ]
    }
    response, message_id = await press(guests, "flow:16:00", guest=11)
    assert response.status_code == 200
    assert response.json()["method"] == "answerCallbackQuery"
    assert response.json()["callback_query_id"] == message_id.rsplit(":", 1)[1]

    async def decided() -> list[dict[str, Any]]:
        return await flows.system.rows(
            "SELECT * FROM messages WHERE provider_message_id = :p AND ai_decision IS NOT NULL",
            p=message_id,
        )

    (row,) = await eventually(decided)
    assert row["content"] == "flow:16:00"
    assert row["ai_decision"] == "escalate"
    (reply,) = await flows.system.replies(row["id"])
    assert reply["content"] == (
        "Thank you! Reception will confirm a check-out at 16:00 for room 118 shortly."
    )


async def test_an_unknown_button_payload_is_acknowledged_and_ignored(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("late_checkout", LATE_CHECKOUT))
    response, message_id = await press(guests, "legacy-menu:7", guest=12)
    assert response.status_code == 200
    assert response.json()["method"] == "answerCallbackQuery"
    # A later message goes through: had the press been stored, this one would see it first.
    row, _ = await flows.reply_to(await guests.say("late checkout", guest=12))
    assert row["ai_decision_reason"].startswith("dialog late_checkout")
    stored = await flows.system.rows(
        "SELECT 1 FROM messages WHERE provider_message_id = :p", p=message_id
    )
    assert stored == []
