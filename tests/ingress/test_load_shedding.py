"""The served ingress sheds load: 503 + Retry-After past its in-flight limit, and slow
clients (bodies, headers) are cut off by deadlines instead of being held."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn

from domain.channels import ChannelRoute
from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, make_settings
from tests.providers import payloads
from tests.providers.factories import make_route
from tests.support.waiting import eventually
from workers.ingress.app import create_app
from workers.ingress.server import server_config
from workers.runtime.publisher import Publisher
from workers.settings import Settings

MAX_IN_FLIGHT = 2
BODY_TIMEOUT = 1.0
HEADER_TIMEOUT = 1.0
# Deadlines are enforced by timers on the event loop; allow a loaded machine some slack.
SLACK = 3.0


@dataclass
class Served:
    client: httpx.AsyncClient
    route: ChannelRoute
    port: int
    settings: Settings


@pytest.fixture
async def served(capture: Capture, amqp_url: str) -> AsyncIterator[Served]:
    settings = make_settings(
        capture.exchange_name,
        amqp_url=amqp_url,
        ingress_max_in_flight=MAX_IN_FLIGHT,
        ingress_body_timeout_seconds=BODY_TIMEOUT,
        ingress_header_timeout_seconds=HEADER_TIMEOUT,
    )
    publisher = Publisher(amqp_url, capture.exchange_name, timeout=2.0)
    channels = support.StaticChannels()
    route = channels.add(make_route(Provider.TELEGRAM))
    app = create_app(settings=settings, channels=channels, publisher=publisher)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    server = uvicorn.Server(server_config(app, settings, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[listener]))
    host, port = listener.getsockname()
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=10) as client:
        yield Served(client, route, port, settings)
    server.should_exit = True
    await task
    listener.close()
    await publisher.close()


async def _slow_body(served: Served) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A webhook whose headers promise a body it sends only the start of."""
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    secret = served.route.webhook_secret or ""
    writer.write(
        f"POST {support.path('telegram', served.route)} HTTP/1.1\r\n"
        "Host: ingress\r\nContent-Type: application/json\r\nContent-Length: 200\r\n"
        f"X-Telegram-Bot-Api-Secret-Token: {secret}\r\n\r\n"
        '{"update_id": '.encode()
    )
    await writer.drain()
    return reader, writer


async def _in_flight(client: httpx.AsyncClient) -> float:
    response = await client.get("/metrics")
    for line in response.text.splitlines():
        if line.startswith("frontdesk_ingress_in_flight "):
            return float(line.split()[1])
    raise AssertionError("no in-flight gauge in /metrics")


async def _wait_for_in_flight(client: httpx.AsyncClient, count: int) -> None:
    async def reached() -> bool:
        return await _in_flight(client) == count

    await eventually(reached, f"{count} requests in flight", deadline=10)


async def _answer_then_close(reader: asyncio.StreamReader, within: float) -> bytes:
    """Everything the server sends until it closes the connection, which must be soon."""
    return await asyncio.wait_for(reader.read(), within)


async def test_requests_past_the_limit_are_shed_with_retry_after(served: Served) -> None:
    held = [await _slow_body(served) for _ in range(MAX_IN_FLIGHT)]
    try:
        await _wait_for_in_flight(served.client, MAX_IN_FLIGHT)
        request = support.telegram(served.route, payloads.TELEGRAM_TEXT)
        shed = await asyncio.gather(*(served.client.post(**request) for _ in range(3)))
        for response in shed:
            assert response.status_code == 503, response.text
            assert int(response.headers["Retry-After"]) >= 1
        # Probes still answer at capacity.
        assert (await served.client.get("/healthz")).status_code == 200
    finally:
        for _, writer in held:
            writer.close()
    await _wait_for_in_flight(served.client, 0)
    request = support.telegram(served.route, payloads.TELEGRAM_TEXT)
    assert (await served.client.post(**request)).status_code == 200


async def test_a_slow_body_is_cut_off_with_408(served: Served, capture: Capture) -> None:
    reader, writer = await _slow_body(served)
    started = time.monotonic()
    try:
        answer = await _answer_then_close(reader, BODY_TIMEOUT + SLACK)
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert time.monotonic() - started >= BODY_TIMEOUT * 0.5
    await capture.assert_nothing_published()
    await _wait_for_in_flight(served.client, 0)


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /webhooks/telegram/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: x\r\n"],
    ids=["nothing", "half the headers"],
)
async def test_slow_headers_are_cut_off(served: Served, sent: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(sent)
    await writer.drain()
    try:
        answer = await _answer_then_close(reader, HEADER_TIMEOUT + SLACK)
    finally:
        writer.close()
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408 "), answer


async def test_an_idle_keep_alive_connection_is_closed(served: Served) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    try:
        answer = await _answer_then_close(
            reader, served.settings.ingress_keep_alive_seconds + SLACK
        )
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 200 "), answer
