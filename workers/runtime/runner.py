"""Running consumers in one process: topology, consuming, graceful stop.

The consuming connection is robust (aio-pika reconnects and restores channels, queues and
consumers after a broker restart or a network cut); publishing uses a connection of its own, so
flow control on publishes never stalls deliveries. On SIGTERM/SIGINT the worker cancels its
consumers first, lets what is in flight finish and ack, then closes: nothing is lost and,
thanks to the inbox, nothing a redelivery brings back is applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
from collections.abc import Sequence
from typing import TYPE_CHECKING

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from workers.logging import get_logger
from workers.runtime.batching import Batcher
from workers.runtime.consumer import Consumer
from workers.runtime.delivery import DeliveryProcessor
from workers.runtime.marker import PublishedMarker
from workers.runtime.metrics import serve_metrics
from workers.runtime.publisher import Publisher
from workers.runtime.topology import declare_topology, main_queue_arguments
from workers.settings import Settings

if TYPE_CHECKING:
    from persistence.uow import UnitOfWorkFactory

log = get_logger("frontdesk.runtime")
STOP_GRACE_SECONDS = 30.0
CANCEL_TIMEOUT_SECONDS = 5.0


def retry_share(prefetch: int) -> int:
    """Retried deliveries a consumer holds at once: a quarter of its prefetch, at least one."""
    return max(1, prefetch // 4)


class Worker:
    """Consumes for ``consumers`` until ``stop()``; ``concurrency`` (deliveries in flight per
    consumer) overrides each consumer's own ``prefetch``."""

    def __init__(
        self,
        settings: Settings,
        consumers: Sequence[Consumer],
        *,
        concurrency: int | None = None,
        uow_factory: UnitOfWorkFactory | None = None,
    ) -> None:
        self.settings = settings
        self.consumers = list(consumers)
        self.concurrency = concurrency
        self._own_uow_factory = uow_factory is None
        self._uow_factory = uow_factory
        self._publisher = Publisher.from_settings(settings)
        self._connection: AbstractRobustConnection | None = None
        self._consuming: list[tuple[AbstractQueue, str]] = []
        self._in_flight: set[asyncio.Task[object]] = set()
        self._stopping = False
        self._marker: PublishedMarker | None = None
        self._batchers: list[Batcher] = []

    async def start(self) -> None:
        if self._uow_factory is None:
            from persistence.uow import UnitOfWorkFactory

            self._uow_factory = UnitOfWorkFactory.from_settings(self.settings)
        await self._publisher.connect()
        self._marker = PublishedMarker(self._uow_factory)
        self._marker.start()
        self._connection = await aio_pika.connect_robust(
            self.settings.amqp_url, heartbeat=self.settings.amqp_heartbeat_seconds
        )
        namespace = self.settings.exchange
        setup = await self._connection.channel()
        await declare_topology(setup, namespace, [c.queues(namespace) for c in self.consumers])
        await setup.close()
        for consumer in self.consumers:
            queues = consumer.queues(namespace)
            processor = DeliveryProcessor(
                consumer, queues, self._uow_factory, self._publisher, self._marker
            )
            prefetch = self.concurrency or consumer.prefetch
            # Fresh events get the consumer's whole prefetch; retried ones a share of their own,
            # so a burst of failing events never delays the events behind it. Retried ones are
            # applied in batches of one: likely to fail again, they would only roll back a batch.
            routes = (
                (queues.main, prefetch, self.settings.worker_batch_size),
                (queues.retried, retry_share(prefetch), 1),
            )
            for name, share, max_batch in routes:
                batcher = self._batcher(processor, in_flight=share, max_batch=max_batch)
                channel = await self._connection.channel()
                await channel.set_qos(prefetch_count=share)
                # Declared (not fetched) so the robust channel re-declares it after a reconnect.
                queue = await channel.declare_queue(
                    name, durable=True, arguments=main_queue_arguments(queues)
                )
                tag = await queue.consume(functools.partial(self._deliver, batcher))
                self._consuming.append((queue, tag))
                log.info(
                    "consuming", consumer=consumer.name, queue=name, prefetch=share, batch=max_batch
                )

    def _batcher(self, processor: DeliveryProcessor, *, in_flight: int, max_batch: int) -> Batcher:
        """``in_flight`` deliveries shared by loops of up to ``max_batch``: that many
        transactions at once, each applying up to a batch."""
        # At least two loops, so one batch's round trips to PostgreSQL overlap another's work.
        loops = max(2, -(-in_flight // max_batch))
        batcher = Batcher(processor, max_batch=max_batch, loops=loops)
        self._batchers.append(batcher)
        return batcher

    async def _deliver(self, batcher: Batcher, message: AbstractIncomingMessage) -> None:
        """Hand a delivery to its batcher; return once it is settled."""
        if self._stopping:
            # Left unacked: the broker hands it to another worker once this one closes.
            return
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            await batcher.submit(message)
        finally:
            self._in_flight.discard(task)

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def healthy(self) -> bool:
        connection = self._connection
        return (
            not self._stopping
            and connection is not None
            # ``is_closed`` stays False while a robust connection is reconnecting.
            and connection.connected.is_set()
            # Each consumer consumes its queue and its retried deliveries.
            and len(self._consuming) == 2 * len(self.consumers)
        )

    async def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> None:
        """Stop consuming, finish (and ack) what is in flight, close everything."""
        self._stopping = True
        for queue, tag in self._consuming:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(queue.cancel(tag), CANCEL_TIMEOUT_SECONDS)
        if self._in_flight:
            log.info("finishing in-flight deliveries", count=len(self._in_flight))
            _, unfinished = await asyncio.wait(set(self._in_flight), timeout=grace)
            if unfinished:
                log.warning("stopping with deliveries unfinished", count=len(unfinished))
        for batcher in self._batchers:
            await batcher.close()
        if self._marker is not None:
            await self._marker.stop()
        if self._connection is not None:
            await self._connection.close()
        await self._publisher.close()
        if self._own_uow_factory and self._uow_factory is not None:
            await self._uow_factory.dispose()
        log.info("stopped")


async def run_workers(
    settings: Settings,
    consumers: Sequence[Consumer],
    *,
    concurrency: int | None = None,
    metrics_port: int = 0,
    stop: asyncio.Event | None = None,
    uow_factory: UnitOfWorkFactory | None = None,
) -> None:
    """Run ``consumers`` in this process until SIGTERM/SIGINT (or ``stop`` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    worker = Worker(settings, consumers, concurrency=concurrency, uow_factory=uow_factory)
    server = await serve_metrics(metrics_port, worker.healthy) if metrics_port else None
    try:
        await worker.start()
        await stop.wait()
        log.info("stop requested")
    finally:
        await worker.stop()
        if server is not None:
            server.close()
        for signum in handled:
            loop.remove_signal_handler(signum)
