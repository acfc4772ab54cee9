"""A consumer applies each event once however often the broker delivers it."""

from __future__ import annotations

import asyncio

import aio_pika

from tests.runtime.support import Script, accepted, effect_consumer, effects, metric
from tests.support.waiting import eventually
from workers.runtime.publisher import Publisher


async def test_a_redelivered_event_has_exactly_one_effect(
    settings, start_worker, make_tenant, owner_engine, sink, unique_name
) -> None:
    tenant = await make_tenant()
    consumer = effect_consumer("once")
    await start_worker([consumer])
    events = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(20)]
    duplicates_before = metric("frontdesk_consumer_duplicates_total", consumer="once")
    publisher = Publisher(settings.amqp_url, settings.exchange)
    try:
        # Every event three times: what the broker does after lost acks or a crashed worker.
        for _ in range(3):
            await publisher.publish_many(events)
    finally:
        await publisher.close()

    async def all_seen() -> bool:
        seen = metric("frontdesk_consumer_duplicates_total", consumer="once") - duplicates_before
        return seen >= 40

    await eventually(all_seen, what="the 40 duplicates to be acked")
    counted = await effects(owner_engine, tenant.tenant_id)
    assert counted == {str(e.event_id): 1 for e in events}


async def test_emitted_events_are_published_after_commit_and_marked(
    settings, start_worker, make_tenant, owner_engine, sink
) -> None:
    tenant = await make_tenant()
    await start_worker([effect_consumer("emitter", Script(emit=True))])
    event = accepted(tenant.tenant_id, tenant.channel_id)
    publisher = Publisher(settings.amqp_url, settings.exchange)
    try:
        await publisher.publish(event)
    finally:
        await publisher.close()

    received: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def emitted_arrived() -> bool:
        message = await sink.get(no_ack=True, fail=False)
        if message is not None:
            received.append(message)
        return any(m.type == "reply.skipped" for m in received)

    await eventually(emitted_arrived, what="the emitted event")

    async def marked() -> bool:
        async with owner_engine.connect() as connection:
            unpublished = await connection.exec_driver_sql(
                "SELECT count(*) FROM outbox WHERE tenant_id = $1 AND published_at IS NULL",
                (tenant.tenant_id,),
            )
            return unpublished.scalar_one() == 0

    await eventually(marked, what="the outbox row to be marked published")


async def test_concurrent_copies_of_one_event_apply_once(
    settings, start_worker, make_tenant, owner_engine, sink
) -> None:
    """Copies handled at the same moment by competing deliveries: the inbox row's unique key
    makes the second transaction wait for the first and then find the row."""
    tenant = await make_tenant()
    await start_worker([effect_consumer("racing", prefetch=64)])
    events = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(10)]
    duplicates_before = metric("frontdesk_consumer_duplicates_total", consumer="racing")
    publisher = Publisher(settings.amqp_url, settings.exchange)
    try:
        await asyncio.gather(*(publisher.publish_many(events) for _ in range(5)))
    finally:
        await publisher.close()

    async def all_seen() -> bool:
        seen = metric("frontdesk_consumer_duplicates_total", consumer="racing") - duplicates_before
        return seen >= 40

    await eventually(all_seen, what="the 40 copies to be acked as duplicates")
    assert await effects(owner_engine, tenant.tenant_id) == {str(e.event_id): 1 for e in events}
