"""The outbox relay publishes what a crash left unpublished, once, even with relays racing."""

from __future__ import annotations

import asyncio
from collections import Counter

import orjson

from tests.runtime.support import accepted
from tests.support.waiting import eventually
from workers.runtime.publisher import Publisher
from workers.runtime.relay import relay_forever, relay_once


class CountingPublisher(Publisher):
    sent = 0

    async def publish_many(self, events, *, headers=None) -> None:
        events = list(events)
        await super().publish_many(events, headers=headers)
        self.sent += len(events)


async def stage_unpublished(uow_factory, tenant, count: int):
    """Commit events to the outbox and 'crash' before publishing them."""
    events = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(count)]
    async with uow_factory(tenant.tenant_id) as uow:
        for event in events:
            uow.emit(event)
        await uow.commit()
    return events


async def drain(sink, into: Counter[str]) -> None:
    while (message := await sink.get(no_ack=True, fail=False)) is not None:
        into[orjson.loads(message.body)["event_id"]] += 1


async def unpublished(owner_engine, tenant) -> int:
    async with owner_engine.connect() as connection:
        result = await connection.exec_driver_sql(
            "SELECT count(*) FROM outbox WHERE tenant_id = $1 AND published_at IS NULL",
            (tenant.tenant_id,),
        )
        return result.scalar_one()


async def test_relay_publishes_a_crashed_transactions_events_once(
    settings, uow_factory, make_tenant, sink, owner_engine
) -> None:
    tenant = await make_tenant()
    events = await stage_unpublished(uow_factory, tenant, 3)
    publisher = Publisher(settings.amqp_url, settings.exchange)
    try:
        while await relay_once(uow_factory, publisher, batch=50):
            pass
        assert await relay_once(uow_factory, publisher, batch=50) == 0
    finally:
        await publisher.close()
    seen: Counter[str] = Counter()
    await drain(sink, seen)
    assert {str(e.event_id): seen[str(e.event_id)] for e in events} == {
        str(e.event_id): 1 for e in events
    }
    assert await unpublished(owner_engine, tenant) == 0


async def test_two_racing_relays_publish_each_row_once(
    settings, uow_factory, make_tenant, sink, owner_engine
) -> None:
    tenant = await make_tenant()
    events = await stage_unpublished(uow_factory, tenant, 400)
    stop = asyncio.Event()
    publishers = [CountingPublisher(settings.amqp_url, settings.exchange) for _ in range(2)]
    relays = [
        asyncio.create_task(relay_forever(uow_factory, publisher, batch=7, stop=stop))
        for publisher in publishers
    ]
    try:

        async def all_published() -> bool:
            return await unpublished(owner_engine, tenant) == 0

        await eventually(all_published, deadline=30, what="the relays to publish every row")
    finally:
        stop.set()
        await asyncio.gather(*relays)
        for publisher in publishers:
            await publisher.close()
    seen: Counter[str] = Counter()

    async def all_arrived() -> bool:
        await drain(sink, seen)
        return all(seen[str(e.event_id)] for e in events)

    await eventually(all_arrived, what="every relayed event in the sink")
    assert {seen[str(e.event_id)] for e in events} == {1}
    assert all(publisher.sent for publisher in publishers), "one relay did all the work"


async def test_relay_leaves_rows_younger_than_min_age_to_their_consumer(
    settings, uow_factory, make_tenant, sink, owner_engine
) -> None:
    tenant = await make_tenant()
    await stage_unpublished(uow_factory, tenant, 2)
    publisher = Publisher(settings.amqp_url, settings.exchange)
    try:
        # Just committed: the consumer that wrote them is publishing them right now.
        assert await relay_once(uow_factory, publisher, batch=50, min_age=60.0) == 0
        assert await unpublished(owner_engine, tenant) == 2
        # Still unmarked once old enough: the consumer crashed; the relay takes over.
        assert await relay_once(uow_factory, publisher, batch=50, min_age=0.0) == 2
        assert await unpublished(owner_engine, tenant) == 0
    finally:
        await publisher.close()
