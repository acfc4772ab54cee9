"""Outbound sends against a provider played on loopback: success, throttling, outages, refusals."""

from __future__ import annotations

import asyncio
import base64
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from domain.channels import ChannelRoute
from domain.events import Provider
from tests.providers.factories import make_route
from tests.providers.fake_provider import Answer, FakeProvider, Recorded
from workers.providers.base import (
    PermanentSendError,
    RetryableSendError,
    Sender,
    TemplateRef,
    UncertainSendError,
)
from workers.providers.green_api import GreenApiSender
from workers.providers.http import RetryPolicy, SenderSettings
from workers.providers.registry import build_senders
from workers.providers.telegram import TelegramSender
from workers.providers.twilio_sms import TwilioSmsSender
from workers.providers.whatsapp_cloud import WhatsAppCloudSender
from workers.settings import Settings


@dataclass(frozen=True)
class Case:
    provider: Provider
    sender: Callable[[httpx.AsyncClient, RetryPolicy], Sender]
    base_url_key: str
    to: str
    ok: Any  # the provider's documented success body
    message_id: str
    check: Callable[[Recorded], None]


def check_green(request: Recorded) -> None:
    assert request.path == "/waInstance1234/sendMessage/green-api-token"
    assert request.json() == {
        "chatId": "14155550100@c.us",
        "message": "See you at 3pm",
        "linkPreview": False,
    }


def check_meta(request: Recorded) -> None:
    assert request.path == "/106540352242922/messages"
    assert request.headers["authorization"] == "Bearer meta-access-token"
    assert request.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "14155550100",
        "type": "text",
        "text": {"preview_url": False, "body": "See you at 3pm"},
    }


def check_twilio(request: Recorded) -> None:
    assert request.path == "/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX/Messages.json"
    credentials = base64.b64decode(request.headers["authorization"].split()[1]).decode()
    assert credentials == "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:twilio-auth-token"
    form = parse_qs(request.body.decode())
    assert form == {"To": ["+14155550100"], "From": ["+14155552671"], "Body": ["See you at 3pm"]}


def check_telegram(request: Recorded) -> None:
    assert request.path == "/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/sendMessage"
    assert request.json() == {
        "chat_id": "993903016",
        "text": "See you at 3pm",
        "link_preview_options": {"is_disabled": True},
    }


CASES = [
    # https://green-api.com/en/docs/api/sending/SendMessage/ (response {"idMessage": ...})
    Case(
        Provider.GREEN_API,
        lambda c, p: GreenApiSender(c, SenderSettings(policy=p)),
        "api_url",
        "+14155550100",
        {"idMessage": "3EB0C767D097B7C7C030"},
        "3EB0C767D097B7C7C030",
        check_green,
    ),
    # https://developers.facebook.com/docs/whatsapp/cloud-api/reference/messages (response)
    Case(
        Provider.WHATSAPP_CLOUD,
        lambda c, p: WhatsAppCloudSender(c, SenderSettings(policy=p)),
        "api_base_url",
        "+14155550100",
        {
            "messaging_product": "whatsapp",
            "contacts": [{"input": "14155550100", "wa_id": "14155550100"}],
            "messages": [{"id": "wamid.HBgLMTQxNTU1NTAxMDAVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}],
        },
        "wamid.HBgLMTQxNTU1NTAxMDAVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA",
        check_meta,
    ),
    # https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
    Case(
        Provider.TWILIO_SMS,
        lambda c, p: TwilioSmsSender(c, SenderSettings(policy=p)),
        "api_base_url",
        "+14155550100",
        {"sid": "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", "status": "queued", "body": "See you at 3pm"},
        "SMXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        check_twilio,
    ),
    # https://core.telegram.org/bots/api#sendmessage (returns the sent Message)
    Case(
        Provider.TELEGRAM,
        lambda c, p: TelegramSender(c, SenderSettings(policy=p)),
        "api_base_url",
        "993903016",
        {
            "ok": True,
            "result": {
                "message_id": 3747,
                "date": 1639926800,
                "chat": {"id": 993903016, "type": "private"},
                "text": "See you at 3pm",
            },
        },
        "993903016:3747",
        check_telegram,
    ),
]
IDS = [case.provider.value for case in CASES]


def route_for(case: Case, provider: FakeProvider) -> ChannelRoute:
    return make_route(case.provider, **{case.base_url_key: provider.base_url})


async def send(
    case: Case,
    provider: FakeProvider,
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    template: TemplateRef | None = None,
) -> str:
    result = await case.sender(client, policy).send(
        route=route_for(case, provider),
        to=case.to,
        text="See you at 3pm",
        idempotency_key="9b1f3c1e-msg",
        template=template,
    )
    return result.provider_message_id


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_success(
    case: Case, provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    provider.default = Answer(200, case.ok)
    assert await send(case, provider, client, policy) == case.message_id
    assert len(provider.requests) == 1
    case.check(provider.requests[0])


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_throttled_then_success_waits_for_retry_after(
    case: Case, provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    throttled = {"ok": False, "error_code": 429, "parameters": {"retry_after": 1}}
    provider.script.append(Answer(429, throttled, {"Retry-After": "1"}))
    provider.default = Answer(200, case.ok)
    started = time.monotonic()
    assert await send(case, provider, client, policy) == case.message_id
    assert time.monotonic() - started >= 1.0
    assert len(provider.requests) == 2


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_server_error_then_success(
    case: Case, provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    provider.script.extend([Answer(500, {"error": "boom"}), Answer(502, {})])
    provider.default = Answer(200, case.ok)
    assert await send(case, provider, client, policy) == case.message_id
    assert len(provider.requests) == 3


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_permanent_client_error_is_not_retried(
    case: Case, provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    provider.default = Answer(400, {"error": {"message": "invalid recipient", "code": 100}})
    with pytest.raises(PermanentSendError, match="400"):
        await send(case, provider, client, policy)
    assert len(provider.requests) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_outage_outlasting_the_retries_is_retryable(
    case: Case, provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    provider.default = Answer(503, {})
    with pytest.raises(RetryableSendError):
        await send(case, provider, client, policy)
    assert len(provider.requests) == policy.attempts


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_long_retry_after_is_left_to_the_dispatcher(
    case: Case, provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    throttled = {"ok": False, "error_code": 429, "parameters": {"retry_after": 60}}
    provider.default = Answer(429, throttled, {"Retry-After": "60"})
    with pytest.raises(RetryableSendError) as raised:
        await send(case, provider, client, policy)
    assert raised.value.retry_after == 60
    assert len(provider.requests) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_unreachable_provider_is_retryable(
    case: Case, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    # Port 9 (discard) has no listener on loopback: every connection is refused.
    route = make_route(case.provider, **{case.base_url_key: "http://127.0.0.1:9"})
    with pytest.raises(RetryableSendError):
        await case.sender(client, policy).send(
            route=route, to=case.to, text="x", idempotency_key="k"
        )


async def test_whatsapp_template(
    provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    case = CASES[1]
    provider.default = Answer(200, case.ok)
    template = TemplateRef(name="pre_arrival", language="en_US", parameters=("Ana", "3pm"))
    await send(case, provider, client, policy, template=template)
    body = provider.requests[0].json()
    assert body["type"] == "template"
    assert body["template"] == {
        "name": "pre_arrival",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "3pm"}],
            }
        ],
    }


async def test_whatsapp_throttling_code_in_a_400_is_retryable(
    provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    # https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes (130429)
    case = CASES[1]
    provider.script.append(Answer(400, {"error": {"code": 130429, "message": "Rate limit hit"}}))
    provider.default = Answer(200, case.ok)
    assert await send(case, provider, client, policy) == case.message_id
    assert len(provider.requests) == 2


async def test_missing_credentials_are_permanent(
    client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    route = make_route(Provider.TELEGRAM, bot_token="")
    with pytest.raises(PermanentSendError, match="bot_token"):
        await TelegramSender(client, SenderSettings(policy=policy)).send(
            route=route, to="1", text="x", idempotency_key="k"
        )


async def test_twilio_asks_for_status_callbacks_on_the_channel_status_route(
    provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    case = CASES[2]
    provider.default = Answer(200, case.ok)
    route = route_for(case, provider)
    sender = build_senders(client, policy=policy, public_base_url="https://desk.example/")[
        Provider.TWILIO_SMS
    ]
    await sender.send(route=route, to=case.to, text="See you at 3pm", idempotency_key="k")
    form = parse_qs(provider.requests[0].body.decode())
    assert form["StatusCallback"] == [
        f"https://desk.example/webhooks/twilio/{route.public_id}/status"
    ]


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_an_answer_lost_after_the_request_went_out_is_uncertain_and_not_retried(
    case: Case, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    """The provider reads the whole request, then the connection drops with no answer."""
    received: list[bytes] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        received.append(head + await reader.readexactly(length))
        writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    route = make_route(case.provider, **{case.base_url_key: f"http://127.0.0.1:{port}"})
    try:
        with pytest.raises(UncertainSendError):
            await case.sender(client, policy).send(
                route=route, to=case.to, text="x", idempotency_key="k"
            )
    finally:
        server.close()
        await server.wait_closed()
    assert len(received) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
async def test_a_gateway_timeout_is_uncertain_and_not_retried(
    case: Case, provider: FakeProvider, client: httpx.AsyncClient, policy: RetryPolicy
) -> None:
    provider.default = Answer(504, {})
    with pytest.raises(UncertainSendError):
        await send(case, provider, client, policy)
    assert len(provider.requests) == 1


async def test_whatsapp_graph_version_comes_from_the_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().whatsapp_graph_version not in {"v21.0", "v22.0"}  # retired in 2027
    monkeypatch.setenv("FRONTDESK_WHATSAPP_GRAPH_VERSION", "v26.0")
    settings = Settings()
    assert settings.whatsapp_graph_version == "v26.0"
    monkeypatch.setenv("FRONTDESK_WHATSAPP_GRAPH_VERSION", "26")
    with pytest.raises(ValueError, match="pattern"):
        Settings()
    async with httpx.AsyncClient() as client:
        sender = build_senders(client, whatsapp_graph_version=settings.whatsapp_graph_version)[
            Provider.WHATSAPP_CLOUD
        ]
        assert isinstance(sender, WhatsAppCloudSender)
        route = make_route(Provider.WHATSAPP_CLOUD)
        assert sender.messages_url(route) == (
            "https://graph.facebook.com/v26.0/106540352242922/messages"
        )
