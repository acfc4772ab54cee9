"""What the ingress accepts it publishes in a form intake can store; late Mailgun retries are
taken once; attachments travel as metadata."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, Ingress
from tests.providers import payloads
from tests.providers.factories import make_route


async def test_green_api_type_message_of_another_shape_is_refused_with_its_reason(
    ingress: Ingress, capture: Capture
) -> None:
    route = ingress.channels.add(make_route(Provider.GREEN_API))
    for shape in ({"textMessage": "hi"}, ["textMessage"]):
        payload = {
            **payloads.GREEN_API_TEXT,
            "messageData": {**payloads.GREEN_API_TEXT["messageData"], "typeMessage": shape},
        }
        response = await ingress.client.post(**support.green_api(route, payload))
        assert response.status_code == 422, response.text
        assert "typeMessage" in response.json()["detail"]
    await capture.assert_nothing_published()


async def test_nul_and_surrogates_never_reach_the_broker(
    ingress: Ingress, capture: Capture
) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    message: dict[str, Any] = payloads.TELEGRAM_TEXT["message"]
    payload = {
        "update_id": 7,
        "message": {
            **message,
            "text": "late\u0000 check-out? \ud83d\ude00",
            "from": {**message["from"], "first_name": "Mh\u0000er"},
        },
    }
    response = await ingress.client.post(**support.telegram(route, payload))
    assert response.status_code == 200, response.text
    [event] = await capture.events(1)
    assert event["text"] == "late check-out? \U0001f600"
    assert event["sender_name"] == "Mher Movsisyan"
    assert event["raw"]["message"]["text"] == "late check-out? \U0001f600"


async def test_mailgun_retry_hours_later_is_taken_once(ingress: Ingress, capture: Capture) -> None:
    # frontdesk answered 503 during an outage; Mailgun retries with the original signature for
    # up to 8 hours.
    route = ingress.channels.add(make_route(Provider.EMAIL))
    signed_at = time.time() - 7 * 3600
    fields = support.mailgun_fields(route, payloads.MAILGUN_FIELDS, timestamp=signed_at)
    request = {
        "url": support.path("email", route),
        "content": urlencode(fields).encode(),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }
    first = await ingress.client.post(**request)
    assert first.status_code == 200, first.text
    [event] = await capture.events(1)
    assert event["provider_event_id"] == "CAF=abc123@mail.example.com"

    replayed = await ingress.client.post(**request)
    assert replayed.status_code == 403
    assert "already used" in replayed.json()["detail"]
    await capture.assert_nothing_published()


async def test_mailgun_attachments_are_published_as_metadata(
    ingress: Ingress, capture: Capture
) -> None:
    route = ingress.channels.add(make_route(Provider.EMAIL))
    fields = support.mailgun_fields(route, {**payloads.MAILGUN_FIELDS, "attachment-count": "2"})
    pdf = b"%PDF-1.4 booking confirmation" * 10
    files = [
        ("attachment-1", ("booking.pdf", pdf, "application/pdf")),
        ("attachment-2", ("room.jpg", b"\xff\xd8\xff" + b"\x00" * 97, "image/jpeg")),
    ]
    response = await ingress.client.post(support.path("email", route), data=fields, files=files)
    assert response.status_code == 200, response.text
    [event] = await capture.events(1)
    assert event["content_type"] == "document"
    assert event["media"]["file_name"] == "booking.pdf"
    assert event["media"]["mime_type"] == "application/pdf"
    assert event["media"]["size_bytes"] == len(pdf)
    assert event["media"]["url"] == "mailgun-attachment:CAF=abc123@mail.example.com/attachment-1"
    [photo] = event["attachments"]
    assert (photo["file_name"], photo["mime_type"], photo["size_bytes"]) == (
        "room.jpg",
        "image/jpeg",
        100,
    )
    assert event["text"] == "Hi, is there parking?"
