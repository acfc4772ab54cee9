"""Confirmed, persistent, mandatory publishing of events to the topic exchange."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection
from pamqp.commands import Basic

from domain.events import Event

if TYPE_CHECKING:
    from workers.settings import Settings


class PublishFailed(Exception):
    """The broker did not confirm a publish (unroutable, nacked, timed out or unreachable)."""


def build_message(event: Event, *, headers: Mapping[str, Any] | None = None) -> aio_pika.Message:
    return aio_pika.Message(
        body=event.model_dump_json().encode(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=str(event.event_id),
        type=event.routing_key,
        headers={"tenant_id": str(event.tenant_id), **(headers or {})},
    )


class Publisher:
    """Publishes events with publisher confirms; an unroutable event raises ``PublishFailed``."""

    def __init__(
        self,
        amqp_url: str,
        exchange_name: str,
        *,
        timeout: float = 5.0,
        heartbeat: int | None = None,
    ) -> None:
        self._amqp_url = amqp_url
        self._exchange_name = exchange_name
        self._timeout = timeout
        # None: what the URL says (aiormq's default is 60 s, too slow to notice a dead network).
        self._connect_options: dict[str, Any] = {}
        if heartbeat is not None:
            self._connect_options["heartbeat"] = heartbeat
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Publisher:
        return cls(
            settings.amqp_url,
            settings.exchange,
            timeout=settings.publish_timeout_seconds,
            heartbeat=settings.amqp_heartbeat_seconds,
        )

    async def connect(self) -> None:
        async with self._lock:
            if self._exchange is not None:
                return
            self._connection = await aio_pika.connect_robust(
                self._amqp_url, timeout=self._timeout, **self._connect_options
            )
            channel = await self._connection.channel(publisher_confirms=True, on_return_raises=True)
            self._channel = channel
            self._exchange = await channel.declare_exchange(
                self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
            )

    @property
    def connected(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def publish(self, event: Event, *, headers: Mapping[str, Any] | None = None) -> None:
        await self.publish_many([event], headers=headers)

    async def publish_many(
        self, events: Iterable[Event], *, headers: Mapping[str, Any] | None = None
    ) -> None:
        """Publish all events, pipelining their confirms; raise if any one is not confirmed."""
        await self._confirmed(
            [(build_message(event, headers=headers), event.routing_key) for event in events],
            direct=False,
        )

    async def send_to_queue(self, message: aio_pika.Message, *, queue: str) -> None:
        """Publish a prepared message straight to one queue (through the default exchange),
        confirmed and mandatory: a queue that does not exist raises ``PublishFailed``."""
        await self._confirmed([(message, queue)], direct=True)

    async def _confirmed(
        self, messages: Sequence[tuple[aio_pika.Message, str]], *, direct: bool
    ) -> None:
        try:
            await self.connect()
            assert self._exchange is not None
            assert self._channel is not None
            exchange = self._channel.default_exchange if direct else self._exchange
            pending = [
                exchange.publish(message, routing_key=key, mandatory=True, timeout=self._timeout)
                for message, key in messages
            ]
            results = await asyncio.wait_for(
                asyncio.gather(*pending, return_exceptions=True), self._timeout
            )
        except Exception as exc:
            raise PublishFailed(str(exc) or type(exc).__name__) from exc
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            raise PublishFailed(str(failures[0]) or type(failures[0]).__name__) from failures[0]
        for confirmation in results:
            if not isinstance(confirmation, Basic.Ack):
                # A Basic.Nack (queue full, reject-publish) or a return: the broker refused it.
                raise PublishFailed(f"broker did not confirm: {type(confirmation).__name__}")

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
        self._connection = self._channel = self._exchange = None
