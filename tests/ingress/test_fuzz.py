"""Arbitrary input never makes the ingress fail, and rejected input never reaches the broker."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.channels import ChannelRoute
from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, Ingress
from tests.providers import payloads
from tests.providers.factories import make_route

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
# Payloads near the providers' shapes reach deeper into the parsers than random JSON does.
shaped = st.fixed_dictionaries(
    {},
    optional={
        "typeWebhook": st.sampled_from(["incomingMessageReceived", "outgoingMessageStatus", "x"]),
        "instanceData": st.fixed_dictionaries({"idInstance": st.integers()}),
        "idMessage": st.text(max_size=5),
        "timestamp": json_values,
        "senderData": st.fixed_dictionaries({"chatId": st.text(max_size=8)}),
        "messageData": st.dictionaries(
            st.sampled_from(
                [
                    "typeMessage",
                    "textMessageData",
                    "fileMessageData",
                    "locationMessageData",
                    "contactMessageData",
                ]
            ),
            json_values | st.sampled_from(["textMessage", "imageMessage", "locationMessage"]),
        ),
        "update_id": json_values,
        "message": st.dictionaries(
            st.sampled_from(["message_id", "date", "chat", "text", "photo", "location", "contact"]),
            json_values,
        ),
        "entry": st.lists(
            st.fixed_dictionaries(
                {
                    "changes": st.lists(
                        st.fixed_dictionaries(
                            {
                                "value": st.dictionaries(
                                    st.sampled_from(["messages", "statuses", "metadata"]),
                                    st.lists(json_values, max_size=2),
                                )
                            }
                        ),
                        max_size=2,
                    )
                }
            ),
            max_size=2,
        ),
        "status": st.text(max_size=10),
        "chatId": st.text(max_size=8),
    },
)
bodies = st.one_of(
    st.binary(max_size=200),
    json_values.map(lambda v: json.dumps(v).encode()),
    shaped.map(lambda v: json.dumps(v).encode()),
)
forms = st.dictionaries(
    st.sampled_from(
        [
            "MessageSid",
            "From",
            "Body",
            "NumMedia",
            "MediaUrl0",
            "MessageStatus",
            "Latitude",
            "Longitude",
            "timestamp",
            "token",
            "signature",
            "Message-Id",
            "message-headers",
            "from",
            "sender",
        ]
    )
    | st.text(max_size=8),
    st.text(max_size=30),
    max_size=8,
)
ROUTES = ["green-api", "whatsapp", "twilio", "twilio-status", "telegram", "email"]
PROVIDERS = {
    "green-api": Provider.GREEN_API,
    "whatsapp": Provider.WHATSAPP_CLOUD,
    "twilio": Provider.TWILIO_SMS,
    "twilio-status": Provider.TWILIO_SMS,
    "telegram": Provider.TELEGRAM,
    "email": Provider.EMAIL,
}


def fuzzed_request(
    route_name: str, channel: ChannelRoute, body: bytes, form: dict[str, str], sign: bool
) -> dict[str, Any]:
    """Valid authentication when ``sign`` (so the parsers see the body), none otherwise."""
    if route_name.startswith("twilio") or route_name == "email":
        if sign and route_name == "email":
            return support.email(channel, form)
        if sign:
            return support.twilio(channel, form, status=route_name == "twilio-status")
        url = support.path(route_name.removesuffix("-status"), channel)
        return {
            "url": url,
            "content": body,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        }
    build = {"green-api": support.green_api, "telegram": support.telegram}.get(route_name)
    request = build(channel, None) if build else support.whatsapp(channel, None)
    if route_name == "whatsapp":
        key = (channel.webhook_secret or "").encode()
        digest = hmac.new(key, body, hashlib.sha256).hexdigest()
        request["headers"]["X-Hub-Signature-256"] = f"sha256={digest}"
    if not sign:
        request["headers"] = {"Content-Type": "application/json"}
    return {**request, "content": body}


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(route_name=st.sampled_from(ROUTES), body=bodies, form=forms, sign=st.booleans())
async def test_no_server_errors_and_nothing_published_when_refused(
    ingress: Ingress,
    capture: Capture,
    route_name: str,
    body: bytes,
    form: dict[str, str],
    sign: bool,
) -> None:
    channel = ingress.channels.add(make_route(PROVIDERS[route_name]))
    calls_before = ingress.publisher.calls
    request = fuzzed_request(route_name, channel, body, form, sign)
    response = await ingress.client.post(**request)
    assert response.status_code < 500, response.text
    if not sign:
        assert response.status_code != 200
    if response.status_code != 200:
        assert ingress.publisher.calls == calls_before
        assert response.headers["content-type"] == "application/json"
        assert "detail" in response.json()


async def test_fuzzing_left_no_refused_input_on_the_broker(capture: Capture) -> None:
    # Each example's refusals were checked on the publisher; the broker side is checked once
    # here for a fresh exchange, which the marker must reach first.
    await capture.assert_nothing_published()


# Each provider's documented payloads, correctly signed, with parts replaced by any JSON shape:
# the parsers must answer every shape with an event or a 4xx, never a 500.
JSON_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "green-api": [
        payloads.GREEN_API_TEXT,
        payloads.GREEN_API_IMAGE,
        payloads.GREEN_API_LOCATION,
        payloads.GREEN_API_CONTACT,
        payloads.GREEN_API_STATUS,
        payloads.GREEN_API_EDITED,
    ],
    "whatsapp": [
        payloads.WHATSAPP_TEXT,
        payloads.whatsapp_value(messages=[payloads.WHATSAPP_IMAGE_MESSAGE]),
        payloads.whatsapp_value(messages=[payloads.WHATSAPP_LOCATION_MESSAGE]),
        payloads.whatsapp_value(messages=[payloads.WHATSAPP_CONTACTS_MESSAGE]),
        payloads.whatsapp_value(statuses=[payloads.WHATSAPP_STATUS_FAILED]),
        payloads.whatsapp_value(messages=[payloads.WHATSAPP_EDIT_MESSAGE]),
    ],
    "telegram": [
        payloads.TELEGRAM_TEXT,
        payloads.TELEGRAM_EDITED,
        payloads.TELEGRAM_PHOTO,
        payloads.TELEGRAM_LOCATION,
        payloads.TELEGRAM_CONTACT,
    ],
}
FORM_EXAMPLES: dict[str, list[dict[str, str]]] = {
    "twilio": [payloads.TWILIO_INBOUND, payloads.TWILIO_MMS],
    "twilio-status": [payloads.TWILIO_STATUS],
    "email": [payloads.MAILGUN_FIELDS],
}
# Form values are text; some email fields are JSON inside the text.
JSON_IN_FORM = ("message-headers", "attachments")


def node_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += node_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += node_paths(child, (*prefix, index))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    return [replaced(child, rest, new) if i == head else child for i, child in enumerate(value)]


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(route_name=st.sampled_from([*JSON_EXAMPLES, *FORM_EXAMPLES]), data=st.data())
async def test_any_shape_correctly_signed_is_an_event_or_a_4xx(
    ingress: Ingress, capture: Capture, route_name: str, data: st.DataObject
) -> None:
    channel = ingress.channels.add(make_route(PROVIDERS[route_name]))
    if route_name in JSON_EXAMPLES:
        payload: Any = data.draw(st.sampled_from(JSON_EXAMPLES[route_name]))
        for _ in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from(node_paths(payload)))
            payload = replaced(payload, path, data.draw(json_values))
        build = {"green-api": support.green_api, "telegram": support.telegram}.get(route_name)
        request = (build or support.whatsapp)(channel, payload)
    else:
        form = dict(data.draw(st.sampled_from(FORM_EXAMPLES[route_name])))
        for _ in range(data.draw(st.integers(1, 3))):
            name = data.draw(st.sampled_from([*form, *JSON_IN_FORM]))
            shape = data.draw(st.sampled_from(["text", "json", "absent"]))
            if shape == "absent":
                form.pop(name, None)
            else:
                value = data.draw(json_values) if shape == "json" else data.draw(st.text())
                form[name] = json.dumps(value) if shape == "json" else value
        request = (
            support.email(channel, form)
            if route_name == "email"
            else support.twilio(channel, form, status=route_name == "twilio-status")
        )
    response = await ingress.client.post(**request)
    assert response.status_code < 500, response.text
    assert response.status_code in (200, 400, 422), response.text
