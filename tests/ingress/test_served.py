"""The ingress served by uvicorn over real HTTP (httptools), as providers reach it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, make_settings
from tests.providers import payloads
from tests.providers.factories import make_route
from workers.ingress.app import create_app
from workers.runtime.publisher import Publisher


@pytest.fixture
async def served(
    capture: Capture, amqp_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, support.StaticChannels]]:
    settings = make_settings(capture.exchange_name, amqp_url=amqp_url, max_body_bytes=4096)
    publisher = Publisher(amqp_url, capture.exchange_name, timeout=2.0)
    channels = support.StaticChannels()
    app = create_app(settings=settings, channels=channels, publisher=publisher)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # connections wait in the backlog until uvicorn accepts them
    server = uvicorn.Server(
        uvicorn.Config(app, http="httptools", lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve(sockets=[listener]))
    host, port = listener.getsockname()
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}") as client:
        yield client, channels
    server.should_exit = True
    await task
    listener.close()
    await publisher.close()


async def test_webhook_over_http(
    served: tuple[httpx.AsyncClient, support.StaticChannels], capture: Capture
) -> None:
    client, channels = served
    route = channels.add(make_route(Provider.TWILIO_SMS))
    response = await client.post(**support.twilio(route, payloads.TWILIO_INBOUND))
    assert response.status_code == 200, response.text
    (event,) = await capture.events(1)
    assert event["provider_event_id"] == payloads.TWILIO_INBOUND["MessageSid"]


async def test_chunked_body_over_the_limit(
    served: tuple[httpx.AsyncClient, support.StaticChannels], capture: Capture
) -> None:
    client, channels = served
    route = channels.add(make_route(Provider.TELEGRAM))
    request = support.telegram(route, payloads.TELEGRAM_TEXT)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * 1024

    response = await client.post(request["url"], content=chunks(), headers=request["headers"])
    assert response.status_code == 413
    await capture.assert_nothing_published()
