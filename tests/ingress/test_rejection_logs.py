"""Every refused webhook leaves one WARNING line: provider, channel, status, reason; no secret."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Ingress, IngressFactory
from tests.providers import payloads
from tests.providers.factories import make_route


async def _rejections(ingress: Ingress, request: dict[str, Any], status: int) -> list[Any]:
    with capture_logs() as logs:
        response = await ingress.client.post(**request)
    assert response.status_code == status, response.text
    return [line for line in logs if line["event"] == "webhook rejected"]


async def test_bad_signature_is_logged_without_the_secret(ingress: Ingress) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    request = support.telegram(route, payloads.TELEGRAM_TEXT)
    request["headers"]["X-Telegram-Bot-Api-Secret-Token"] = "wrong-secret-value"
    (line,) = await _rejections(ingress, request, 403)
    assert line["log_level"] == "warning"
    assert line["provider"] == "telegram"
    assert line["channel"] == str(route.public_id)
    assert line["status"] == 403
    assert line["reason"]
    rendered = repr(line)
    assert "wrong-secret-value" not in rendered
    assert str(route.webhook_secret) not in rendered
    assert payloads.TELEGRAM_TEXT["message"]["text"] not in rendered


async def test_missing_signature(ingress: Ingress) -> None:
    route = ingress.channels.add(make_route(Provider.GREEN_API))
    request = support.green_api(route, payloads.GREEN_API_TEXT)
    del request["headers"]["Authorization"]
    (line,) = await _rejections(ingress, request, 401)
    assert (line["provider"], line["status"]) == ("green-api", 401)


async def test_unknown_channel(ingress: Ingress) -> None:
    route = make_route(Provider.TELEGRAM)  # never added
    (line,) = await _rejections(ingress, support.telegram(route, payloads.TELEGRAM_TEXT), 404)
    assert line["channel"] == str(route.public_id)
    assert line["reason"] == "unknown channel"


async def test_body_too_large(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(max_body_bytes=64)
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    (line,) = await _rejections(ingress, support.telegram(route, payloads.TELEGRAM_TEXT), 413)
    assert line["status"] == 413


@pytest.mark.parametrize(("content", "status"), [(b"[1, 2]", 422), (b'{"update_id": "x"}', 422)])
async def test_unreadable_body(ingress: Ingress, content: bytes, status: int) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    request = {**support.telegram(route, payloads.TELEGRAM_TEXT), "content": content}
    (line,) = await _rejections(ingress, request, status)
    assert line["status"] == status
    assert "errors" not in line  # validation details may quote the body


async def test_channel_id_of_the_wrong_shape(ingress: Ingress) -> None:
    request = {"url": "/webhooks/telegram/not-a-uuid", "json": {}}
    (line,) = await _rejections(ingress, request, 422)
    assert (line["provider"], line["channel"]) == ("telegram", "not-a-uuid")


async def test_accepted_webhook_logs_no_rejection(ingress: Ingress) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    assert await _rejections(ingress, support.telegram(route, payloads.TELEGRAM_TEXT), 200) == []
