"""The broker topology, declared in one place, idempotently, whenever a process starts.

One durable topic exchange carries every event. Each consumer owns:

- ``<ns>.<consumer>``: a durable quorum queue bound to the consumer's routing keys. Its explicit
  ``x-delivery-limit`` (RabbitMQ 3.10 sets none) ends a loop of crashing workers; what it gives
  up is dead-lettered at-least-once (which needs ``x-overflow: reject-publish``) into the
  dead-letter queue, so the broker never drops it on the way.
- ``<ns>.<consumer>.backoff.<delay>``: one quorum queue per retry tier whose message TTL expires
  the message into ``<ns>.<consumer>.retried``, also at-least-once. (Earlier releases named
  the tiers ``….retry.<delay>`` and expired them into the consumer queue; the new names let a
  used broker start without PRECONDITION_FAILED, and the old tiers drain into the consumer
  queue by themselves — delete them once ``frontdesk status`` shows them empty.)
- ``<ns>.<consumer>.retried``: a quorum queue shaped like the consumer queue, where retried
  deliveries wait their turn. The worker consumes it with a small prefetch of its own, so
  events failing over and over never stand in front of fresh ones in the consumer queue nor
  take more than that share of the worker.
- ``<ns>.<consumer>.dead``: a classic durable queue. Classic, because the operator tools read it
  with get-then-requeue and a quorum queue would count those requeues against a delivery limit.

``<ns>`` is the exchange name, so one setting keeps every name of a deployment (or of a test)
apart. Declaring with the same arguments again is a no-op; declaring with different arguments
fails with the broker's PRECONDITION_FAILED rather than silently running the old shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange

DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 10.0, 60.0)
DEFAULT_DELIVERY_LIMIT = 20


def tier_label(delay: float) -> str:
    """``1.0`` -> ``1s``, ``0.05`` -> ``50ms``: the suffix of a retry queue's name."""
    if delay < 1:
        return f"{round(delay * 1000)}ms"
    return f"{delay:g}s"


@dataclass(frozen=True)
class ConsumerQueues:
    """The names and shape of one consumer's queues."""

    namespace: str
    consumer: str
    routing_keys: tuple[str, ...]
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT

    @property
    def main(self) -> str:
        return f"{self.namespace}.{self.consumer}"

    @property
    def dead(self) -> str:
        return f"{self.main}.dead"

    @property
    def retried(self) -> str:
        return f"{self.main}.retried"

    @property
    def retries(self) -> tuple[str, ...]:
        return tuple(f"{self.main}.backoff.{tier_label(delay)}" for delay in self.retry_delays)

    def retry_for(self, attempt: int) -> tuple[str, str]:
        """The tier (queue name, label) a message goes to after failing its ``attempt``-th try
        (1-based); the last tier repeats."""
        delay = self.retry_delays[min(attempt, len(self.retry_delays)) - 1]
        return f"{self.main}.backoff.{tier_label(delay)}", tier_label(delay)


def main_queue_arguments(queues: ConsumerQueues) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": queues.delivery_limit,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queues.dead,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def retry_queue_arguments(queues: ConsumerQueues, delay: float) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-message-ttl": max(1, round(delay * 1000)),
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": queues.retried,
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


async def declare_exchange(channel: AbstractChannel, exchange: str) -> AbstractExchange:
    return await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=True)


async def declare_consumer(channel: AbstractChannel, exchange: str, queues: ConsumerQueues) -> None:
    """Declare one consumer's queues and bindings; the dead-letter targets come first, so no
    queue ever points at a queue that does not exist yet."""
    topic = await declare_exchange(channel, exchange)
    await channel.declare_queue(queues.dead, durable=True)
    main = await channel.declare_queue(
        queues.main, durable=True, arguments=main_queue_arguments(queues)
    )
    await channel.declare_queue(
        queues.retried, durable=True, arguments=main_queue_arguments(queues)
    )
    for name, delay in zip(queues.retries, queues.retry_delays, strict=True):
        await channel.declare_queue(
            name, durable=True, arguments=retry_queue_arguments(queues, delay)
        )
    for routing_key in queues.routing_keys:
        await main.bind(topic, routing_key)


async def declare_topology(
    channel: AbstractChannel, exchange: str, consumers: Sequence[ConsumerQueues]
) -> None:
    """Declare the exchange and every consumer's queues (idempotent)."""
    await declare_exchange(channel, exchange)
    for queues in consumers:
        await declare_consumer(channel, exchange, queues)


async def delete_consumer(channel: AbstractChannel, queues: ConsumerQueues) -> None:
    """Remove one consumer's queues (tests and decommissioning)."""
    for name in (queues.main, *queues.retries, queues.retried, queues.dead):
        await channel.queue_delete(name)


async def declare_for(amqp_url: str, exchange: str, consumers: Sequence[ConsumerQueues]) -> None:
    """Connect, declare everything ``consumers`` need, disconnect: for start-up scripts that
    must not let the ingress publish before the consumers' queues are bound."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await declare_topology(channel, exchange, consumers)
    finally:
        await connection.close()
