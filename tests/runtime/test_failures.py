"""Retry tiers, dead-lettering with reasons, and replay after the cause is fixed."""

from __future__ import annotations

import json
from uuid import uuid4

import aio_pika
import pytest

from tests.runtime.support import (
    Script,
    accepted,
    effect_consumer,
    effects,
    metric,
)
from tests.support.waiting import eventually
from workers.ops.dead_letters import Action, Selection, sweep
from workers.runtime import headers
from workers.runtime.errors import DeadLetterReason
from workers.runtime.publisher import Publisher
from workers.runtime.runner import Worker
from workers.runtime.topology import declare_topology


async def publish(settings, *events) -> None:
    publisher = Publisher(settings.amqp_url, settings.exchange)
    try:
        await publisher.publish_many(events)
    finally:
        await publisher.close()


async def dead_letters(broker, queues) -> list[aio_pika.abc.AbstractIncomingMessage]:
    """Everything in the dead-letter queue, left in place."""
    channel = await broker.channel(publisher_confirms=True)
    try:
        result = await sweep(channel, queues, Selection(), Action.LIST)
    finally:
        await channel.close()
    return result.matched


async def dead_count(broker, queues) -> int:
    channel = await broker.channel()
    try:
        queue = await channel.declare_queue(queues.dead, passive=True)
        return queue.declaration_result.message_count
    finally:
        await channel.close()


async def test_retryable_failures_succeed_on_a_later_tier(
    settings, start_worker, make_tenant, owner_engine, broker
) -> None:
    tenant = await make_tenant()
    flaky, steady = (accepted(tenant.tenant_id, tenant.channel_id) for _ in range(2))
    script = Script(fail_first={flaky.event_id: 2})
    consumer = effect_consumer("flaky", script, max_attempts=4)
    await start_worker([consumer])
    await publish(settings, flaky, steady)

    async def both_applied() -> bool:
        return len(await effects(owner_engine, tenant.tenant_id)) == 2

    await eventually(both_applied, what="both events applied")
    assert script.calls[flaky.event_id] == 3
    assert script.calls[steady.event_id] == 1
    assert await effects(owner_engine, tenant.tenant_id) == {
        str(flaky.event_id): 1,
        str(steady.event_id): 1,
    }
    assert await dead_count(broker, consumer.queues(settings.exchange)) == 0


async def test_poison_event_is_dead_lettered_with_its_reason_then_replayed_once(
    settings, start_worker, make_tenant, owner_engine, broker
) -> None:
    tenant = await make_tenant()
    poison, exhausted, fine = (accepted(tenant.tenant_id, tenant.channel_id) for _ in range(3))
    script = Script(permanent={poison.event_id}, always_retryable={exhausted.event_id})
    consumer = effect_consumer("poisoned", script, max_attempts=3)
    queues = consumer.queues(settings.exchange)
    await start_worker([consumer])
    await publish(settings, poison, exhausted, fine)

    async def two_dead() -> bool:
        return await dead_count(broker, queues) == 2

    await eventually(two_dead, what="two dead letters")
    assert script.calls[poison.event_id] == 1  # permanent: no retry at all
    assert script.calls[exhausted.event_id] == 3  # every attempt spent
    letters = {letter.message_id: letter for letter in await dead_letters(broker, queues)}
    assert letters[str(poison.event_id)].reason == DeadLetterReason.PERMANENT
    assert letters[str(exhausted.event_id)].reason == DeadLetterReason.RETRIES_EXHAUSTED
    assert letters[str(exhausted.event_id)].attempt == 3
    for letter in letters.values():
        assert letter.consumer == "poisoned"
        assert letter.routing_key == "message.accepted"
        assert letter.tenant_id == str(tenant.tenant_id)
        assert letter.first_failure is not None
        assert letter.dead_at is not None
        assert "Error" in (letter.error or "")
    # Failed tries rolled back: only the healthy event left a row.
    assert await effects(owner_engine, tenant.tenant_id) == {str(fine.event_id): 1}

    script.fix()
    # A crash between publishing a replay and acking its dead letter leaves the letter in the
    # queue: play that by putting a copy of one dead letter back, so it is replayed twice.
    channel = await broker.channel(publisher_confirms=True)
    twin = letters[str(poison.event_id)]
    await channel.default_exchange.publish(
        aio_pika.Message(twin.body, headers=twin.headers, message_id=twin.message_id),
        routing_key=queues.dead,
        mandatory=True,
    )
    duplicates_before = metric("frontdesk_consumer_duplicates_total", consumer="poisoned")
    result = await sweep(channel, queues, Selection(), Action.REPLAY)
    await channel.close()
    assert len(result.matched) == 3

    async def replays_done() -> bool:
        duplicates = metric("frontdesk_consumer_duplicates_total", consumer="poisoned")
        applied = len(await effects(owner_engine, tenant.tenant_id))
        return applied == 3 and duplicates == duplicates_before + 1

    await eventually(replays_done, what="the replays applied, the twin acked as a duplicate")
    assert script.calls[poison.event_id] == 2  # the twin never reached the handler
    assert await effects(owner_engine, tenant.tenant_id) == {
        str(event.event_id): 1 for event in (poison, exhausted, fine)
    }
    assert await dead_count(broker, queues) == 0


async def test_bodies_that_are_not_this_consumers_events_are_dead_lettered_at_once(
    settings, start_worker, make_tenant, owner_engine, broker
) -> None:
    tenant = await make_tenant()
    consumer = effect_consumer("strict")
    queues = consumer.queues(settings.exchange)
    await start_worker([consumer])
    stranger = accepted(uuid4(), tenant.channel_id)  # a tenant that does not exist
    schema_broken = accepted(tenant.tenant_id, tenant.channel_id).model_dump(mode="json")
    del schema_broken["guest_id"]
    channel = await broker.channel(publisher_confirms=True, on_return_raises=True)
    exchange = await channel.get_exchange(settings.exchange)
    bodies = {
        "undecodable": b"{not json",
        "schema": json.dumps(schema_broken).encode(),
        "unexpected_type": b'{"type": "reply.skipped", "tenant_id": "%s", "message_id": "%s",'
        b' "conversation_id": "%s", "reason": "x"}'
        % (str(tenant.tenant_id).encode(), str(uuid4()).encode(), str(uuid4()).encode()),
    }
    for reason, body in bodies.items():
        await exchange.publish(
            aio_pika.Message(body, message_id=reason), "message.accepted", mandatory=True
        )
    await channel.close()
    await publish(settings, stranger)

    async def all_dead() -> bool:
        return await dead_count(broker, queues) == 4

    await eventually(all_dead, what="four dead letters")
    letters = await dead_letters(broker, queues)
    reasons = {letter.message_id: letter.reason for letter in letters}
    assert reasons == {
        "undecodable": DeadLetterReason.UNDECODABLE,
        "schema": DeadLetterReason.SCHEMA,
        "unexpected_type": DeadLetterReason.UNEXPECTED_TYPE,
        str(stranger.event_id): DeadLetterReason.UNKNOWN_TENANT,
    }
    assert all(letter.headers[headers.CONSUMER] == "strict" for letter in letters)


@pytest.mark.parametrize("worker_batch_size", [16])
async def test_a_failing_event_leaves_its_batch_mates_applied_once(
    settings, start_worker, make_tenant, owner_engine, broker, declared
) -> None:
    """Deliveries waiting together are applied in one transaction; when one handler fails,
    the batch rolls back, the failed event takes its own way (here the dead letters, after one
    try) and the others are applied one by one."""
    tenant = await make_tenant()
    events = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(60)]
    poison = events[37]
    script = Script(permanent={poison.event_id})
    consumer = effect_consumer("batched", script, prefetch=32)
    queues = consumer.queues(settings.exchange)
    declared.append(queues)
    channel = await broker.channel()
    await declare_topology(channel, settings.exchange, [queues])
    await channel.close()
    await publish(settings, *events)  # all waiting before the worker starts: batches fill
    batches_before = metric("frontdesk_consumer_batch_size_count", consumer="batched")
    fallbacks_before = metric("frontdesk_consumer_batch_fallbacks_total", consumer="batched")
    await start_worker([consumer])

    async def settled() -> bool:
        applied = len(await effects(owner_engine, tenant.tenant_id))
        return applied == len(events) - 1 and await dead_count(broker, queues) == 1

    await eventually(settled, what="59 events applied and one dead letter")
    assert metric("frontdesk_consumer_batch_size_count", consumer="batched") > batches_before
    assert (
        metric("frontdesk_consumer_batch_fallbacks_total", consumer="batched")
        == fallbacks_before + 1
    )
    assert script.calls[poison.event_id] == 1
    assert await effects(owner_engine, tenant.tenant_id) == {
        str(e.event_id): 1 for e in events if e is not poison
    }
    [letter] = await dead_letters(broker, queues)
    assert letter.reason == DeadLetterReason.PERMANENT


class RefusingUnitsOfWork:
    """The test's units of work, except that the first ``refusals`` cannot connect: the driver
    lets a refused connection through as a bare ``OSError``."""

    def __init__(self, inner, refusals: int) -> None:
        self.inner = inner
        self.refusals = refusals

    def __call__(self, tenant_id):
        if self.refusals > 0:
            self.refusals -= 1
            return self
        return self.inner(tenant_id)

    async def __aenter__(self):
        raise ConnectionRefusedError("connection refused")

    async def __aexit__(self, *exc_info) -> None:
        return None

    def system(self):
        return self.inner.system()


async def test_a_refused_database_connection_costs_a_retry_not_an_attempt(
    worker_settings, uow_factory, declared, make_tenant, owner_engine, broker
) -> None:
    """With one attempt allowed, an event whose transaction could not begin is retried (or, in
    a batch, applied again alone), never dead-lettered: the same at every batch size."""
    tenant = await make_tenant()
    events = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(5)]
    consumer = effect_consumer("refused", max_attempts=1)
    queues = consumer.queues(worker_settings.exchange)
    declared.append(queues)
    channel = await broker.channel()
    await declare_topology(channel, worker_settings.exchange, [queues])
    await channel.close()
    await publish(worker_settings, *events)  # all waiting before the worker starts
    refusing = RefusingUnitsOfWork(uow_factory, refusals=1)
    worker = Worker(worker_settings, [consumer], uow_factory=refusing)
    await worker.start()
    try:

        async def all_applied() -> bool:
            return len(await effects(owner_engine, tenant.tenant_id)) == len(events)

        await eventually(all_applied, what="every event applied")
    finally:
        await worker.stop(grace=5)
    assert refusing.refusals == 0
    assert await effects(owner_engine, tenant.tenant_id) == {str(e.event_id): 1 for e in events}
    assert await dead_count(broker, queues) == 0
