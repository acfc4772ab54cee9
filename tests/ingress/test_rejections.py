"""Every refusal has its status and reason, and nothing reaches the broker."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest

from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, Ingress, IngressFactory
from tests.providers import payloads
from tests.providers.factories import make_route


async def refused(ingress: Ingress, capture: Capture, request: dict[str, Any], status: int) -> Any:
    response = await ingress.client.post(**request)
    assert response.status_code == status, response.text
    assert ingress.publisher.calls == 0
    await capture.assert_nothing_published()
    return response.json()


def with_header(request: dict[str, Any], name: str, value: str | None) -> dict[str, Any]:
    headers = {k: v for k, v in request["headers"].items() if k != name}
    if value is not None:
        headers[name] = value
    return {**request, "headers": headers}


async def test_unknown_channel(ingress: Ingress, capture: Capture) -> None:
    route = make_route(Provider.TELEGRAM)  # never added
    body = await refused(ingress, capture, support.telegram(route, payloads.TELEGRAM_TEXT), 404)
    assert body == {"detail": "unknown channel"}


async def test_disabled_channel(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM, enabled=False))
    await refused(ingress, capture, support.telegram(route, payloads.TELEGRAM_TEXT), 404)


async def test_channel_of_another_provider(ingress: Ingress, capture: Capture) -> None:
    # A Green API channel's id, correctly signed, posted to the Telegram route.
    route = ingress.channels.add(make_route(Provider.GREEN_API))
    await refused(ingress, capture, support.telegram(route, payloads.TELEGRAM_TEXT), 404)


async def test_not_a_uuid(ingress: Ingress, capture: Capture) -> None:
    response = await ingress.client.post("/webhooks/telegram/not-a-uuid", json={})
    assert response.status_code == 422
    await capture.assert_nothing_published()


SIGNED = {
    "green_api": (Provider.GREEN_API, support.green_api, payloads.GREEN_API_TEXT, "Authorization"),
    "whatsapp": (
        Provider.WHATSAPP_CLOUD,
        support.whatsapp,
        payloads.WHATSAPP_TEXT,
        "X-Hub-Signature-256",
    ),
    "telegram": (
        Provider.TELEGRAM,
        support.telegram,
        payloads.TELEGRAM_TEXT,
        "X-Telegram-Bot-Api-Secret-Token",
    ),
    "twilio": (Provider.TWILIO_SMS, support.twilio, payloads.TWILIO_INBOUND, "X-Twilio-Signature"),
}


@pytest.mark.parametrize("name", SIGNED)
async def test_missing_signature(name: str, ingress: Ingress, capture: Capture) -> None:
    provider, build, payload, header = SIGNED[name]
    route = ingress.channels.add(make_route(provider))
    body = await refused(ingress, capture, with_header(build(route, payload), header, None), 401)
    assert "missing" in body["detail"]


@pytest.mark.parametrize("name", SIGNED)
async def test_wrong_signature(name: str, ingress: Ingress, capture: Capture) -> None:
    provider, build, payload, _header = SIGNED[name]
    route = ingress.channels.add(make_route(provider))
    forged = build(dataclasses.replace(route, webhook_secret="not-the-secret"), payload)
    await refused(ingress, capture, forged, 403)


async def test_body_tampered_after_signing(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.WHATSAPP_CLOUD))
    request = support.whatsapp(route, payloads.WHATSAPP_TEXT)
    request["content"] = request["content"].replace(b"another color", b"another colour")
    await refused(ingress, capture, request, 403)


async def test_email_missing_signature(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.EMAIL))
    request = support.email(route, payloads.MAILGUN_FIELDS)
    request["content"] = b"&".join(
        part for part in request["content"].split(b"&") if not part.startswith(b"signature=")
    )
    await refused(ingress, capture, request, 401)


async def test_email_stale_timestamp(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.EMAIL))
    # Past Mailgun's 8-hour retry schedule.
    request = support.email(route, payloads.MAILGUN_FIELDS, timestamp=time.time() - 9 * 3600)
    body = await refused(ingress, capture, request, 403)
    assert "retry window" in body["detail"]


async def test_malformed_json(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    request = support.telegram(route, {})
    request["content"] = b'{"update_id": 1, "message": '
    body = await refused(ingress, capture, request, 400)
    assert "not valid JSON" in body["detail"]


async def test_json_that_is_not_an_object(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.GREEN_API))
    await refused(ingress, capture, support.green_api(route, [1, 2, 3]), 422)


async def test_payload_of_the_wrong_shape(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    payload = {"update_id": "many", "message": {"chat": {}}}
    body = await refused(ingress, capture, support.telegram(route, payload), 422)
    assert body["detail"] == "body does not match the provider's format"
    assert {tuple(error["loc"]) for error in body["errors"]} >= {("update_id",)}


async def test_twilio_form_without_message_sid(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TWILIO_SMS))
    form = {k: v for k, v in payloads.TWILIO_INBOUND.items() if k != "MessageSid"}
    body = await refused(ingress, capture, support.twilio(route, form), 422)
    assert "MessageSid" in body["detail"]


async def test_body_over_the_limit_by_content_length(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    big = {**payloads.TELEGRAM_TEXT, "padding": "x" * ingress.settings.max_body_bytes}
    await refused(ingress, capture, support.telegram(route, big), 413)


async def test_body_over_the_limit_streamed_without_length(
    ingress: Ingress, capture: Capture
) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    request = support.telegram(route, payloads.TELEGRAM_TEXT)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(ingress.settings.max_body_bytes // 1024 + 2):
            yield b" " * 1024  # JSON whitespace: valid, if it were allowed that long

    request["content"] = chunks()
    await refused(ingress, capture, request, 413)


async def test_lying_content_length(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    request = with_header(support.telegram(route, payloads.TELEGRAM_TEXT), "Content-Length", "many")
    await refused(ingress, capture, request, 400)


async def test_channel_directory_down_is_retried_later(
    make_ingress: IngressFactory, capture: Capture
) -> None:
    ingress = await make_ingress(channels=support.FailingChannels())
    route = make_route(Provider.TELEGRAM)
    response = await ingress.client.post(**support.telegram(route, payloads.TELEGRAM_TEXT))
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    await capture.assert_nothing_published()


async def test_random_channel_ids_are_cached_as_misses(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(channel_cache_seconds=5.0)
    url = f"/webhooks/telegram/{uuid4()}"
    for _ in range(3):
        assert (await ingress.client.post(url, json={})).status_code == 404
    assert ingress.channels.lookups == 1
