"""How many events per second one consumer of the runtime applies on this machine.

Two consumers are measured, one after the other, each draining a pre-filled queue:

- ``noop``: the handler does nothing; what is measured is the runtime itself (decode, inbox
  row, commit, ack) — every event still costs one transaction.
- ``writer``: the handler also inserts one row (a ``comms_events`` audit entry).

Run ``python -m bench.runtime_rate [EVENTS] [CONCURRENCY]``; it creates a scratch database
(dropped afterwards) and a scratch exchange, and prints one JSON line per consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import aio_pika
from prometheus_client import REGISTRY
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from domain.events import MessageAccepted
from persistence.migrate import create_database_if_missing_async, upgrade_async
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.runtime.consumer import Consumer
from workers.runtime.publisher import Publisher
from workers.runtime.runner import Worker
from workers.runtime.topology import declare_consumer, delete_consumer
from workers.settings import Settings

ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def scratch_settings(database: str) -> Settings:
    owner = make_url(ADMIN_URL).set(database=database)
    return Settings(
        database_url=owner.set(username="frontdesk_app").render_as_string(hide_password=False),
        migration_database_url=owner.render_as_string(hide_password=False),
        exchange=f"bench.{uuid4().hex[:12]}",
        db_pool_size=20,
        log_level="WARNING",
    )


async def seed_tenant(uow_factory: UnitOfWorkFactory) -> tuple[UUID, UUID]:
    tenant_id = uuid4()
    async with uow_factory(tenant_id) as uow:
        await uow.tenants.add(name="Bench", slug=f"bench-{tenant_id.hex[:8]}", vertical="hotel")
        prop = await uow.properties.add(name="Main", timezone="UTC")
        channel = await uow.channels.add(
            property_id=prop.id,
            provider="green_api",
            name="bench",
            address="+34600000000",
            credentials={"api_base_url": "http://127.0.0.1:9"},
            webhook_secret=uuid4().hex,
        )
        await uow.commit()
    return tenant_id, channel.id


def noop_consumer() -> Consumer:
    """Does nothing with the event: what is left is the runtime's own cost (decode, inbox row,
    commit, ack)."""

    async def handle(event: MessageAccepted, uow: UnitOfWork) -> None:
        del event, uow

    return Consumer(
        name="noop",
        routing_keys=(MessageAccepted.routing_key,),
        event_types=(MessageAccepted,),
        handle=handle,
    )


def writer_consumer() -> Consumer:
    async def handle(event: MessageAccepted, uow: UnitOfWork) -> None:
        await uow.comms_events.add(
            channel_id=event.channel_id,
            provider="green_api",
            direction="inbound",
            kind="message",
            payload={"event_id": str(event.event_id)},
        )

    return Consumer(
        name="writer",
        routing_keys=(MessageAccepted.routing_key,),
        event_types=(MessageAccepted,),
        handle=handle,
    )


async def measure(
    settings: Settings,
    uow_factory: UnitOfWorkFactory,
    consumer: Consumer,
    *,
    events: int,
    concurrency: int,
    tenant: tuple[UUID, UUID],
) -> dict[str, object]:
    queues = consumer.queues(settings.exchange)
    connection = await aio_pika.connect(settings.amqp_url)
    channel = await connection.channel()
    await declare_consumer(channel, settings.exchange, queues)
    publisher = Publisher(settings.amqp_url, settings.exchange, timeout=60)
    batch = [
        MessageAccepted(
            tenant_id=tenant[0],
            message_id=uuid4(),
            conversation_id=uuid4(),
            guest_id=uuid4(),
            channel_id=tenant[1],
        )
        for _ in range(events)
    ]
    for start in range(0, events, 500):
        await publisher.publish_many(batch[start : start + 500])
    await publisher.close()

    def processed() -> float:
        return (
            REGISTRY.get_sample_value(
                "frontdesk_consumer_processed_total", {"consumer": consumer.name}
            )
            or 0.0
        )

    before = processed()
    worker = Worker(settings, [consumer], concurrency=concurrency, uow_factory=uow_factory)
    started = time.perf_counter()
    await worker.start()
    while processed() - before < events:  # noqa: ASYNC110 - a counter has nothing to await
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await worker.stop(grace=10)
    await delete_consumer(channel, queues)
    await connection.close()
    return {
        "consumer": consumer.name,
        "events": events,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "events_per_second": round(events / elapsed, 1),
    }


@contextlib.asynccontextmanager
async def scratch_tenant() -> AsyncIterator[tuple[Settings, UnitOfWorkFactory, tuple[UUID, UUID]]]:
    """A migrated scratch database with one tenant (and its channel), dropped on the way out."""
    database = f"frontdesk_bench_{uuid4().hex[:12]}"
    settings = scratch_settings(database)
    await create_database_if_missing_async(settings.migration_database_url)
    uow_factory = UnitOfWorkFactory.from_settings(settings)
    try:
        await upgrade_async(settings)
        yield settings, uow_factory, await seed_tenant(uow_factory)
    finally:
        await uow_factory.dispose()
        admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.dispose()


async def main(events: int, concurrency: int) -> None:
    async with scratch_tenant() as (settings, uow_factory, tenant):
        try:
            for consumer in (noop_consumer(), writer_consumer()):
                result = await measure(
                    settings,
                    uow_factory,
                    consumer,
                    events=events,
                    concurrency=concurrency,
                    tenant=tenant,
                )
                print(json.dumps(result), flush=True)
        finally:
            exchange_connection = await aio_pika.connect(settings.amqp_url)
            exchange_channel = await exchange_connection.channel()
            await exchange_channel.exchange_delete(settings.exchange)
            await exchange_connection.close()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    asyncio.run(
        main(
            int(arguments[0]) if arguments else 5000,
            int(arguments[1]) if len(arguments) > 1 else 32,
        )
    )
