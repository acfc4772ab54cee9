"""The broker topology: idempotent, at-least-once dead-lettering, confirmed mandatory publishes."""

from __future__ import annotations

from uuid import uuid4

import aio_pika
import pytest

from domain.events import MessageAccepted
from tests.support.waiting import eventually
from workers.runtime.errors import DeadLetterReason
from workers.runtime.headers import reason_of
from workers.runtime.publisher import Publisher, PublishFailed
from workers.runtime.topology import ConsumerQueues, declare_topology, delete_consumer


@pytest.fixture
async def queues(broker, unique_name):
    declared = ConsumerQueues(unique_name, "shape", ("shape.#",), (0.05, 1.0), delivery_limit=2)
    yield declared
    channel = await broker.channel()
    await delete_consumer(channel, declared)
    await channel.exchange_delete(unique_name)
    await channel.close()


async def test_declaring_twice_is_a_no_op(broker, queues) -> None:
    channel = await broker.channel()
    await declare_topology(channel, queues.namespace, [queues])
    await declare_topology(channel, queues.namespace, [queues])
    for name in (queues.main, *queues.retries, queues.retried, queues.dead):
        assert (await channel.declare_queue(name, passive=True)).name == name
    assert queues.retries == (
        f"{queues.namespace}.shape.backoff.50ms",
        f"{queues.namespace}.shape.backoff.1s",
    )
    await channel.close()


async def test_a_broker_with_the_earlier_retry_tiers_still_starts(broker, queues) -> None:
    """Earlier releases expired ``….retry.<delay>`` tiers into the consumer queue: a used broker
    still holds them, and declaring today's topology over them must not fail."""
    channel = await broker.channel()
    await declare_topology(channel, queues.namespace, [queues])
    earlier = [f"{queues.main}.retry.{label}" for label in ("50ms", "1s")]
    try:
        for name in earlier:
            await channel.declare_queue(
                name,
                durable=True,
                arguments={
                    "x-queue-type": "quorum",
                    "x-message-ttl": 50,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": queues.main,
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
        await declare_topology(channel, queues.namespace, [queues])
    finally:
        for name in earlier:
            await channel.queue_delete(name)
        await channel.close()


async def test_declaring_a_different_shape_fails_loudly(broker, queues) -> None:
    channel = await broker.channel()
    await declare_topology(channel, queues.namespace, [queues])
    changed = ConsumerQueues(queues.namespace, "shape", ("shape.#",), (0.05, 1.0), 3)
    with pytest.raises(aio_pika.exceptions.ChannelPreconditionFailed):
        await declare_topology(channel, queues.namespace, [changed])


async def test_delivery_limit_dead_letters_into_the_dead_queue(broker, queues) -> None:
    """Workers that keep dying with a delivery in hand: the broker moves it out of the way."""
    channel = await broker.channel(publisher_confirms=True)
    await declare_topology(channel, queues.namespace, [queues])
    exchange = await channel.get_exchange(queues.namespace)
    await exchange.publish(aio_pika.Message(b"{}", message_id="crashy"), "shape.x", mandatory=True)
    main = await channel.get_queue(queues.main)
    dead = await channel.get_queue(queues.dead)
    for _ in range(queues.delivery_limit + 1):
        message = await main.get(timeout=5)
        await message.nack(requeue=True)
    found: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def dead_lettered() -> bool:
        message = await dead.get(fail=False)
        if message is not None:
            found.append(message)
            await message.ack()
        return bool(found)

    await eventually(dead_lettered, what="the broker to dead-letter the message")
    assert found[0].message_id == "crashy"
    assert reason_of(found[0].headers) == DeadLetterReason.DELIVERY_LIMIT
    await channel.close()


async def test_retry_tier_expires_into_the_consumers_retried_queue(broker, queues) -> None:
    channel = await broker.channel(publisher_confirms=True)
    await declare_topology(channel, queues.namespace, [queues])
    await channel.default_exchange.publish(
        aio_pika.Message(b"{}", message_id="later"), queues.retries[0], mandatory=True
    )
    main = await channel.get_queue(queues.retried)
    back: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def returned() -> bool:
        message = await main.get(fail=False)
        if message is not None:
            back.append(message)
            await message.ack()
        return bool(back)

    await eventually(returned, what="the retry tier to expire the message")
    assert back[0].message_id == "later"
    await channel.close()


async def test_unroutable_publishes_raise(broker, amqp_url, unique_name) -> None:
    publisher = Publisher(amqp_url, unique_name, timeout=2)
    try:
        with pytest.raises(PublishFailed):
            await publisher.publish(
                MessageAccepted(
                    tenant_id=uuid4(),
                    message_id=uuid4(),
                    conversation_id=uuid4(),
                    guest_id=uuid4(),
                    channel_id=uuid4(),
                )
            )
        with pytest.raises(PublishFailed):
            await publisher.send_to_queue(
                aio_pika.Message(b"{}"), queue=f"{unique_name}.no-such-queue"
            )
    finally:
        await publisher.close()
        channel = await broker.channel()
        await channel.exchange_delete(unique_name)
        await channel.close()
