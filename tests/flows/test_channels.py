"""A bot question per channel: WhatsApp Cloud interactive messages (reply buttons up to 3
short titles, a list beyond) and the guest's button reply read back as the option."""

from __future__ import annotations

from typing import Any

from domain.events import InboundMessageReceived, Provider
from domain.flows.render import WHATSAPP_BUTTON_TITLE
from tests.providers.factories import make_route
from workers.providers import whatsapp_cloud
from workers.providers.telegram import message_body as telegram_body

TIMES = [("12:00", "12:00"), ("14:00", "14:00"), ("16:00", "16:00")]


def test_three_short_options_are_whatsapp_reply_buttons() -> None:
    body = whatsapp_cloud.message_body(
        to="+34600000001", text="Until when?\n\n1. 12:00\n2. 14:00\n3. 16:00", template=None,
        options=TIMES,
    )  # fmt: skip
    assert body["type"] == "interactive"
    interactive = body["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"]["text"].startswith("Until when?")
    assert [b["reply"] for b in interactive["action"]["buttons"]] == [
        {"id": f"flow:{value}", "title": label} for value, label in TIMES
    ]


def test_more_or_longer_options_are_a_whatsapp_list() -> None:
    long_label = "A table on the terrace, please"
    assert len(long_label) > WHATSAPP_BUTTON_TITLE
    options = [("terrace", long_label), ("inside", "Inside")]
    listed = whatsapp_cloud.message_body(to="1", text="Where?", template=None, options=options)
    assert listed["interactive"]["type"] == "list"
    rows = listed["interactive"]["action"]["sections"][0]["rows"]
    assert rows[0] == {"id": "flow:terrace", "title": long_label[:24]}
    many = [(str(n), f"Option {n}") for n in range(1, 5)]
    assert (
        whatsapp_cloud.message_body(to="1", text="?", template=None, options=many)["interactive"][
            "type"
        ]
        == "list"
    )
    plain = whatsapp_cloud.message_body(to="1", text="Hi", template=None)
    assert plain["type"] == "text"


def test_a_whatsapp_button_reply_is_read_as_its_option() -> None:
    route = make_route(Provider.WHATSAPP_CLOUD)
    reply: dict[str, Any] = {"id": "flow:14:00", "title": "14:00"}
    payload = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "1", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "34600000001"}],
            "messages": [{"from": "34600000001", "id": "wamid.X", "timestamp": "1700000000",
                          "type": "interactive",
                          "interactive": {"type": "button_reply", "button_reply": reply}}],
        }}]}],
    }  # fmt: skip
    (event,) = whatsapp_cloud.parse_inbound(route, payload)
    assert isinstance(event, InboundMessageReceived)
    assert event.text == "flow:14:00"
    reply["id"] = "menu-7"  # another business tool's button: its title, as before
    (event,) = whatsapp_cloud.parse_inbound(route, payload)
    assert isinstance(event, InboundMessageReceived)
    assert event.text == "14:00"


def test_telegram_questions_carry_an_inline_keyboard() -> None:
    body = telegram_body(to="42", text="Until when?", options=TIMES[:1])
    assert body["reply_markup"] == {
        "inline_keyboard": [[{"text": "12:00", "callback_data": "flow:12:00"}]]
    }
    assert "reply_markup" not in telegram_body(to="42", text="Hi")
