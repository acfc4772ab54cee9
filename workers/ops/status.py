"""``frontdesk status``: per consumer, what waits, who consumes, what retries, what died.

Depths come from passive ``queue.declare`` over AMQP, so this works without the management
plugin; AMQP reports ready messages and consumers, not unacked deliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

import aio_pika
import typer
from aio_pika.abc import AbstractConnection
from aiormq.exceptions import ChannelNotFoundEntity
from rich.table import Table

from workers.ops.support import cli_settings, console, consumer_queues
from workers.reachability import reaching
from workers.runtime.topology import ConsumerQueues
from workers.settings import Settings


@dataclass(frozen=True)
class QueueDepth:
    name: str
    ready: int | None  # None: the queue does not exist
    consumers: int | None


@dataclass(frozen=True)
class ConsumerStatus:
    consumer: str
    main: QueueDepth
    retries: list[QueueDepth]
    retried: QueueDepth
    dead: QueueDepth


async def queue_depth(connection: AbstractConnection, name: str) -> QueueDepth:
    # A channel per queue: a passive declare of a missing queue closes its channel.
    channel = await connection.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        return QueueDepth(name, None, None)
    result = queue.declaration_result
    with contextlib.suppress(Exception):
        await channel.close()
    return QueueDepth(name, result.message_count, result.consumer_count)


async def consumer_status(connection: AbstractConnection, queues: ConsumerQueues) -> ConsumerStatus:
    return ConsumerStatus(
        consumer=queues.consumer,
        main=await queue_depth(connection, queues.main),
        retries=[await queue_depth(connection, name) for name in queues.retries],
        retried=await queue_depth(connection, queues.retried),
        dead=await queue_depth(connection, queues.dead),
    )


async def collect_status(
    amqp_url: str, queues_list: Sequence[ConsumerQueues]
) -> list[ConsumerStatus]:
    connection = await aio_pika.connect(amqp_url)
    try:
        return [await consumer_status(connection, queues) for queues in queues_list]
    finally:
        await connection.close()


def _count(value: int | None) -> str:
    return "[red]missing[/]" if value is None else str(value)


def render(settings: Settings, rows: Sequence[ConsumerStatus]) -> Table:
    table = Table(title=f"frontdesk consumers on exchange {settings.exchange}")
    table.add_column("consumer")
    for column in ("ready", "consumers", "retrying (per tier)", "retried, ready", "dead letters"):
        table.add_column(column, justify="right")
    for row in rows:
        dead = _count(row.dead.ready)
        table.add_row(
            row.consumer,
            _count(row.main.ready),
            _count(row.main.consumers),
            " / ".join(_count(depth.ready) for depth in row.retries),
            _count(row.retried.ready),
            f"[bold red]{dead}[/]" if row.dead.ready else dead,
        )
    return table


def status(
    consumer: Annotated[
        list[str] | None, typer.Option("--consumer", "-c", help="Only these consumers.")
    ] = None,
) -> None:
    """Per consumer: ready deliveries, consumers, retry tier depths and dead letters."""
    settings = cli_settings()
    queues = consumer_queues(settings, consumer)
    with reaching("RabbitMQ", settings.amqp_url):
        rows = asyncio.run(collect_status(settings.amqp_url, queues))
    console.print(render(settings, rows))
