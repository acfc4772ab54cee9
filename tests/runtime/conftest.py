from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import suppress

import aio_pika
import pytest
from aio_pika.abc import AbstractRobustConnection
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.db import create_engine
from persistence.uow import UnitOfWorkFactory
from workers.logging import configure_logging
from workers.runtime.consumer import Consumer
from workers.runtime.runner import Worker
from workers.runtime.topology import ConsumerQueues, delete_consumer
from workers.settings import Settings


@pytest.fixture(scope="session")
async def broker(amqp_url: str) -> AsyncIterator[AbstractRobustConnection]:
    connection = await aio_pika.connect_robust(amqp_url)
    yield connection
    await connection.close()


@pytest.fixture(scope="session")
async def owner_engine(database: Settings) -> AsyncIterator[AsyncEngine]:
    """The owner's view (RLS does not hide rows from it), for counting effects."""
    engine = create_engine(database.migration_database_url, schema=database.db_schema, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture
def declared() -> list[ConsumerQueues]:
    """Consumer queues a test declared, for ``settings`` to delete afterwards."""
    return []


@pytest.fixture
async def settings(
    database: Settings,
    amqp_url: str,
    unique_name: str,
    broker: AbstractRobustConnection,
    declared: list[ConsumerQueues],
) -> AsyncIterator[Settings]:
    """Settings on the test database with an exchange (and so queue names) of this test alone;
    the exchange and every queue declared under it are deleted afterwards."""
    configured = database.model_copy(
        update={
            "amqp_url": amqp_url,
            "exchange": unique_name,
            "publish_timeout_seconds": 5.0,
            "log_json": False,
        }
    )
    configure_logging(configured)
    yield configured
    channel = await broker.channel()
    for queues in declared:
        with suppress(Exception):
            await delete_consumer(channel, queues)
    with suppress(Exception):
        await channel.exchange_delete(unique_name)
    with suppress(Exception):
        await channel.close()


@pytest.fixture
async def sink(
    settings: Settings, broker: AbstractRobustConnection
) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    """A queue bound to every routing key of the test exchange, so nothing published is
    unroutable and tests can see what was published."""
    channel = await broker.channel()
    exchange = await channel.declare_exchange(
        settings.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await channel.declare_queue(f"{settings.exchange}.sink", durable=True)
    await queue.bind(exchange, "#")
    yield queue
    with suppress(Exception):
        await queue.delete(if_unused=False, if_empty=False)
    with suppress(Exception):
        await channel.close()


@pytest.fixture(params=[1, 16], ids=lambda size: f"batch-{size}")
def worker_batch_size(request: pytest.FixtureRequest) -> int:
    """Every test that runs a worker runs twice: each delivery a transaction of its own, and
    deliveries that wait together applied in batches of up to 16 (the default)."""
    return int(request.param)


@pytest.fixture
def worker_settings(settings: Settings, worker_batch_size: int) -> Settings:
    """``settings`` with the batch size this run of the test applies deliveries in."""
    return settings.model_copy(update={"worker_batch_size": worker_batch_size})


StartWorker = Callable[..., Awaitable[Worker]]


@pytest.fixture
async def start_worker(
    worker_settings: Settings, uow_factory: UnitOfWorkFactory, declared: list[ConsumerQueues]
) -> AsyncIterator[StartWorker]:
    """``await start_worker([consumer, ...])`` runs them in this process until the test ends."""
    started: list[Worker] = []
    settings = worker_settings

    async def start(
        consumers: Sequence[Consumer], *, concurrency: int | None = None, **overrides: object
    ) -> Worker:
        worker_settings = settings.model_copy(update=overrides) if overrides else settings
        declared.extend(c.queues(settings.exchange) for c in consumers)
        worker = Worker(
            worker_settings, consumers, concurrency=concurrency, uow_factory=uow_factory
        )
        started.append(worker)
        await worker.start()
        return worker

    yield start
    await asyncio.gather(*(worker.stop(grace=5) for worker in started))
