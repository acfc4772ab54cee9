"""Registering and checking a channel's webhook at its provider, played by a loopback stand-in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import Hotel
from tests.providers.fake_provider import Answer, FakeProvider

BOT_TOKEN = "123456789:AAE-health-test-bot-token"
GREEN_TOKEN = "green-api-instance-token-0123456789"


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    await fake.start()
    yield fake
    await fake.stop()


async def add_channel(
    api: httpx.AsyncClient,
    hotel: Hotel,
    provider: str,
    credentials: dict[str, Any],
    address: str = "@health_line",
) -> dict[str, Any]:
    created = await api.post(
        "/api/v1/channels",
        json={
            "provider": provider,
            "property_id": str(hotel.tenant.property_id),
            "name": f"{provider} line",
            "address": address,
            "credentials": credentials,
        },
        headers=hotel.admin.headers,
    )
    assert created.status_code == 201, created.text
    return dict(created.json())


async def test_telegram_webhook_registered_with_its_secret_and_checked(
    api: httpx.AsyncClient, hotel: Hotel, provider: FakeProvider
) -> None:
    channel = await add_channel(
        api, hotel, "telegram", {"bot_token": BOT_TOKEN, "api_base_url": provider.base_url}
    )
    provider.script.append(Answer(body={"ok": True, "result": True}))
    registered = await api.post(
        f"/api/v1/channels/{channel['id']}/register-webhook", headers=hotel.admin.headers
    )
    assert registered.status_code == 200, registered.text
    (call,) = provider.requests
    assert call.path == f"/bot{BOT_TOKEN}/setWebhook"
    assert call.json() == {"url": channel["webhook_url"], "secret_token": channel["webhook_secret"]}
    assert BOT_TOKEN not in registered.text
    assert channel["webhook_secret"] not in registered.text

    provider.script.append(
        Answer(
            body={
                "ok": True,
                "result": {
                    "url": channel["webhook_url"],
                    "has_custom_certificate": False,
                    "pending_update_count": 7,
                    "last_error_date": 1_700_000_000,
                    "last_error_message": "Wrong response from the webhook: 503",
                },
            }
        )
    )
    checked = await api.post(f"/api/v1/channels/{channel['id']}/check", headers=hotel.admin.headers)
    assert checked.status_code == 200, checked.text
    result = checked.json()
    assert provider.requests[-1].path == f"/bot{BOT_TOKEN}/getWebhookInfo"
    assert result["status"] == "failing"
    assert result["pending_updates"] == 7
    assert result["webhook_url_matches"] is True
    assert "503" in result["error"]
    assert result["last_error_at"].startswith("2023-11-14")
    # Kept on the channel, with its time.
    again = await api.get(f"/api/v1/channels/{channel['id']}", headers=hotel.admin.headers)
    assert again.json()["webhook_status"] == "failing"
    assert again.json()["webhook_last_checked_at"] == result["checked_at"]

    provider.script.append(
        Answer(
            body={"ok": True, "result": {"url": channel["webhook_url"], "pending_update_count": 0}}
        )
    )
    healthy = await api.post(f"/api/v1/channels/{channel['id']}/check", headers=hotel.admin.headers)
    assert healthy.json()["status"] == "ok", healthy.text
    assert healthy.json()["error"] is None


async def test_green_api_registration_and_a_check_of_an_unauthorised_instance(
    api: httpx.AsyncClient, hotel: Hotel, provider: FakeProvider
) -> None:
    channel = await add_channel(
        api,
        hotel,
        "green_api",
        {
            "id_instance": "1101000001",
            "api_token_instance": GREEN_TOKEN,
            "api_url": provider.base_url,
        },
    )
    provider.script.append(Answer(body={"saveSettings": True}))
    registered = await api.post(
        f"/api/v1/channels/{channel['id']}/register-webhook", headers=hotel.admin.headers
    )
    assert registered.status_code == 200, registered.text
    (call,) = provider.requests
    assert call.path == f"/waInstance1101000001/setSettings/{GREEN_TOKEN}"
    sent = call.json()
    assert sent["webhookUrl"] == channel["webhook_url"]
    assert sent["webhookUrlToken"] == channel["webhook_secret"]
    assert sent["incomingWebhook"] == "yes"

    provider.script.extend(
        [
            Answer(body={"stateInstance": "notAuthorized"}),
            Answer(body={"webhookUrl": "https://elsewhere.example/hook"}),
        ]
    )
    checked = await api.post(f"/api/v1/channels/{channel['id']}/check", headers=hotel.admin.headers)
    assert checked.status_code == 200, checked.text
    result = checked.json()
    assert [r.path for r in provider.requests[-2:]] == [
        f"/waInstance1101000001/getStateInstance/{GREEN_TOKEN}",
        f"/waInstance1101000001/getSettings/{GREEN_TOKEN}",
    ]
    assert result["status"] == "failing"
    assert result["provider_state"] == "notAuthorized"
    assert result["webhook_url_matches"] is False
    assert "notAuthorized" in result["error"]
    assert "elsewhere" in result["error"]
    assert "elsewhere.example" not in checked.text


async def test_a_provider_refusal_is_a_502_with_its_reason_and_the_check_is_recorded(
    api: httpx.AsyncClient, hotel: Hotel, provider: FakeProvider
) -> None:
    channel = await add_channel(
        api, hotel, "telegram", {"bot_token": BOT_TOKEN, "api_base_url": provider.base_url}
    )
    provider.script.append(
        Answer(status=401, body={"ok": False, "error_code": 401, "description": "Unauthorized"})
    )
    refused = await api.post(
        f"/api/v1/channels/{channel['id']}/register-webhook", headers=hotel.admin.headers
    )
    assert refused.status_code == 502, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "Unauthorized" in refused.json()["detail"]
    assert BOT_TOKEN not in refused.text

    gone = FakeProvider()  # a provider that stopped listening: unreachable
    await gone.start()
    gone_url = gone.base_url
    await gone.stop()
    silent = await add_channel(
        api, hotel, "telegram", {"bot_token": BOT_TOKEN, "api_base_url": gone_url}, "@silent"
    )
    unreachable = await api.post(
        f"/api/v1/channels/{silent['id']}/check", headers=hotel.admin.headers
    )
    assert unreachable.status_code == 502, unreachable.text
    assert "could not be reached" in unreachable.json()["detail"]
    kept = (await api.get(f"/api/v1/channels/{silent['id']}", headers=hotel.admin.headers)).json()
    assert kept["webhook_status"] == "unreachable"
    assert kept["webhook_last_checked_at"] is not None


async def test_providers_configured_in_their_console_are_refused_by_name(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    channel = await add_channel(
        api,
        hotel,
        "twilio_sms",
        {"account_sid": "AC" + "0" * 32, "auth_token": "twilio-auth-token-123456"},
    )
    for action in ("register-webhook", "check"):
        response = await api.post(
            f"/api/v1/channels/{channel['id']}/{action}", headers=hotel.admin.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "provider"
