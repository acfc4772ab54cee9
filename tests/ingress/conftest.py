from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import uuid4

import aio_pika
import httpx
import orjson
import pytest
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection

from tests.ingress.support import PUBLIC_BASE_URL, CountingPublisher, StaticChannels
from workers.ingress.app import create_app
from workers.runtime.publisher import Publisher
from workers.settings import Settings

MARKER = "test.marker"


@pytest.fixture(scope="session")
async def amqp(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(amqp_url)
    yield connection
    await connection.close()


@dataclass
class Capture:
    """A unique exchange with a queue bound to everything, to see what the ingress published."""

    exchange_name: str
    channel: aio_pika.abc.AbstractChannel
    exchange: aio_pika.abc.AbstractExchange
    arrived: asyncio.Queue[AbstractIncomingMessage] = field(default_factory=asyncio.Queue)

    async def next(self, deadline: float = 5.0) -> AbstractIncomingMessage:
        return await asyncio.wait_for(self.arrived.get(), deadline)

    async def events(self, count: int, deadline: float = 5.0) -> list[dict[str, Any]]:
        return [orjson.loads((await self.next(deadline)).body) for _ in range(count)]

    async def assert_nothing_published(self) -> None:
        """Publishes a marker after the fact: if the marker comes first, nothing came before."""
        await self.exchange.publish(aio_pika.Message(b"{}", type=MARKER), routing_key=MARKER)
        first = await self.next()
        assert first.type == MARKER, f"unexpected event published: {first.body!r}"


@pytest.fixture
async def capture(amqp: AbstractRobustConnection) -> AsyncIterator[Capture]:
    channel = await amqp.channel()
    name = f"test.ingress.{uuid4()}"
    exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await channel.declare_queue(exclusive=True, auto_delete=True)
    await queue.bind(exchange, "#")
    captured = Capture(name, channel, exchange)
    await queue.consume(captured.arrived.put, no_ack=True)
    yield captured
    await queue.delete(if_unused=False, if_empty=False)
    await exchange.delete()
    await channel.close()


def make_settings(exchange: str, *, amqp_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "amqp_url": amqp_url,
        "exchange": exchange,
        "public_base_url": PUBLIC_BASE_URL,
        "max_body_bytes": 65_536,
        "publish_timeout_seconds": 2.0,
        "channel_cache_seconds": 0.0,
    }
    return Settings(**{**values, **overrides})


@dataclass
class Ingress:
    client: httpx.AsyncClient
    channels: StaticChannels
    publisher: CountingPublisher
    settings: Settings


IngressFactory = Callable[..., Awaitable[Ingress]]


@pytest.fixture
async def make_ingress(capture: Capture, amqp_url: str) -> AsyncIterator[IngressFactory]:
    """``await make_ingress(**settings)``: an ingress app publishing to ``capture``'s exchange,
    over the test broker unless ``amqp_url`` says otherwise."""
    opened: list[tuple[httpx.AsyncClient, Publisher]] = []
    broker_url = amqp_url

    async def build(
        *,
        amqp_url: str = broker_url,
        channels: Any = None,
        readiness_checks: Any = None,
        **overrides: Any,
    ) -> Ingress:
        settings = make_settings(capture.exchange_name, amqp_url=amqp_url, **overrides)
        publisher = Publisher(
            amqp_url, capture.exchange_name, timeout=settings.publish_timeout_seconds
        )
        counting = CountingPublisher(publisher)
        static = channels if channels is not None else StaticChannels()
        app = create_app(
            settings=settings,
            channels=static,
            publisher=counting,
            readiness_checks=readiness_checks,
        )
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://ingress"
        )
        opened.append((client, publisher))
        return Ingress(client, static, counting, settings)

    yield build
    for client, publisher in opened:
        await client.aclose()
        await publisher.close()


@pytest.fixture
async def ingress(make_ingress: IngressFactory) -> Ingress:
    return await make_ingress()
