"""The raw baseline: the same pipeline shape with nothing but aio-pika and asyncpg.

Four stages (as many as frontdesk's consumers), each a bare consumer on a durable quorum
queue that takes a batch of deliveries (prefetch), inserts one row per delivery in one asyncpg
transaction, publishes one persistent message per delivery to the next stage with pipelined
publisher confirms, and acks the batch with one multiple-ack. The guarantees match frontdesk's
(durable queues, persistent messages, confirms, ack after commit); what is left out is
everything frontdesk does on top, so the ratio of the two is the cost of that.

Run as ``python -m bench.raw MESSAGES OUT.json [PROCESSES]``; it creates and drops its own database,
exchange and queues, and prints JSON progress lines while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from bench.stats import rate
from workers.webhook_samples import SampleChannel, build

STAGES = ("intake", "sentiment", "autoreply", "escalation")
PREFETCH = 512
MAX_BATCH = 256
PUBLISH_WINDOW = 1000
QUEUE_ARGUMENTS = {"x-queue-type": "quorum", "x-delivery-limit": 5}


@dataclass(frozen=True)
class RawConfig:
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    admin_dsn: str = "postgresql://postgres@127.0.0.1:5432/postgres"


def _body(seq: int) -> bytes:
    """An event body about as large as frontdesk's ``inbound.received`` (raw payload inside)."""
    channel = SampleChannel(0, "green_api", str(uuid.UUID(int=0)), "secret", "4420", "1101000001")
    webhook = build(channel, seq=seq, text="What time is check-in?", base_url="http://x")
    return json.dumps({"seq": seq, "raw": json.loads(webhook.body)}).encode()


async def _stage(
    index: int, channel: AbstractChannel, pool: asyncpg.Pool, names: list[str]
) -> None:
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await channel.get_queue(names[index])
    exchange = channel.default_exchange
    inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
    await queue.consume(inbox.put, no_ack=False)
    last = index == len(STAGES) - 1
    while True:
        batch = [await inbox.get()]
        while len(batch) < MAX_BATCH and not inbox.empty():
            batch.append(inbox.get_nowait())
        rows = [(index, int(m.message_id or 0), m.body.decode()) for m in batch]
        async with pool.acquire() as connection, connection.transaction():
            await connection.executemany(
                "INSERT INTO bench_raw.rows (stage, seq, body) VALUES ($1, $2, $3::jsonb)"
                " ON CONFLICT DO NOTHING",
                rows,
            )
        if not last:
            await asyncio.gather(
                *(exchange.publish(_message(m.body, m.message_id), names[index + 1]) for m in batch)
            )
        await batch[-1].ack(multiple=True)


async def serve(stages: list[int], dsn: str, names: list[str], amqp_url: str) -> None:
    """Runs the given stages until cancelled (or, in a helper process, until SIGTERM)."""
    connection = await aio_pika.connect(amqp_url)
    pool = await asyncpg.create_pool(dsn, min_size=len(stages), max_size=len(stages))
    try:
        async with asyncio.TaskGroup() as group:
            for index in stages:
                channel = await connection.channel(publisher_confirms=True)
                group.create_task(_stage(index, channel, pool, names))
    finally:
        await pool.close()
        await connection.close()


def _message(body: bytes, message_id: str | None) -> aio_pika.Message:
    return aio_pika.Message(
        body, message_id=message_id, delivery_mode=aio_pika.DeliveryMode.PERSISTENT
    )


async def _produce(exchange: AbstractExchange, first_queue: str, messages: int) -> None:
    body = _body(0)
    for start in range(0, messages, PUBLISH_WINDOW):
        end = min(messages, start + PUBLISH_WINDOW)
        await asyncio.gather(
            *(exchange.publish(_message(body, str(seq)), first_queue) for seq in range(start, end))
        )


async def _create_database(config: RawConfig, name: str) -> str:
    admin = await asyncpg.connect(config.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = config.admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "CREATE SCHEMA bench_raw; CREATE TABLE bench_raw.rows ("
            " stage smallint NOT NULL, seq bigint NOT NULL, body jsonb NOT NULL,"
            " created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stage, seq))"
        )
    finally:
        await connection.close()
    return dsn


async def _drop_database(config: RawConfig, name: str) -> None:
    admin = await asyncpg.connect(config.admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _stage_figures(dsn: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT stage, count(*) AS n, extract(epoch FROM min(created_at)) AS first,"
            " extract(epoch FROM max(created_at)) AS last FROM bench_raw.rows GROUP BY stage"
            " ORDER BY stage"
        )
    finally:
        await connection.close()
    return [
        {
            "name": STAGES[row["stage"]],
            "count": row["n"],
            "msgs_per_s": rate(row["n"], float(row["first"]), float(row["last"])),
        }
        for row in rows
    ]


async def _final_count(connection: asyncpg.Connection) -> int:
    count: int = await connection.fetchval(
        "SELECT count(*) FROM bench_raw.rows WHERE stage = $1", len(STAGES) - 1
    )
    return count


async def _helpers(
    processes: int, dsn: str, names: list[str], amqp_url: str
) -> list[asyncio.subprocess.Process]:
    """Stage ``i`` runs in process ``i % processes``; process 0 is this one."""
    helpers = []
    for number in range(1, processes):
        stages = ",".join(str(i) for i in range(len(STAGES)) if i % processes == number)
        helpers.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.raw",
                "serve",
                stages,
                dsn,
                ",".join(names),
                amqp_url,
            )
        )
    return helpers


async def run_raw(
    messages: int, *, processes: int = 2, config: RawConfig | None = None
) -> dict[str, Any]:
    """Pushes ``messages`` through the four raw stages; returns rates end to end and per stage."""
    config = config or RawConfig()
    tag = uuid.uuid4().hex[:12]
    database = f"bench_raw_{tag}"
    names = [f"bench.raw.{tag}.{stage}" for stage in STAGES]
    dsn = await _create_database(config, database)
    connection = await aio_pika.connect(config.amqp_url)
    watcher = await asyncpg.connect(dsn)
    helpers: list[asyncio.subprocess.Process] = []
    try:
        setup = await connection.channel()
        for name in names:
            await setup.declare_queue(name, durable=True, arguments=QUEUE_ARGUMENTS)
        helpers = await _helpers(processes, dsn, names, config.amqp_url)
        print(json.dumps({"done": 0, "pids": [h.pid for h in helpers]}), flush=True)
        own = [i for i in range(len(STAGES)) if i % processes == 0]
        stages = asyncio.create_task(serve(own, dsn, names, config.amqp_url))
        producer_channel = await connection.channel(publisher_confirms=True)
        started = time.time()
        producer = asyncio.create_task(
            _produce(producer_channel.default_exchange, names[0], messages)
        )
        while (done := await _final_count(watcher)) < messages:
            for task in (stages, producer):
                if task.done() and task.exception():
                    raise task.exception()  # type: ignore[misc]
            for helper in helpers:
                if helper.returncode is not None:
                    raise RuntimeError(f"raw stage process exited with {helper.returncode}")
            print(json.dumps({"done": done}), flush=True)
            await asyncio.sleep(0.25)  # progress reporting interval
        finished = await watcher.fetchval(
            "SELECT extract(epoch FROM max(created_at)) FROM bench_raw.rows"
        )
        figures = await _stage_figures(dsn)
        stages.cancel()
        await producer
        for name in names:
            await setup.queue_delete(name, if_unused=False, if_empty=False)
    finally:
        for helper in helpers:
            if helper.returncode is None:
                helper.terminate()
            await helper.wait()
        await watcher.close()
        await connection.close()
        await _drop_database(config, database)
    seconds = float(finished) - started
    return {
        "messages": messages,
        "processes": processes,
        "stages": figures,
        "seconds": seconds,
        "msgs_per_s": messages / seconds,
        "prefetch": PREFETCH,
        "max_batch": MAX_BATCH,
    }


def main(argv: list[str]) -> None:
    import uvloop

    if argv[0] == "serve":
        stages, dsn, names, amqp_url = argv[1:5]
        with contextlib.suppress(KeyboardInterrupt):
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            uvloop.run(serve([int(i) for i in stages.split(",")], dsn, names.split(","), amqp_url))
        return
    messages, out = int(argv[0]), Path(argv[1])
    processes = int(argv[2]) if len(argv) > 2 else 2
    result = uvloop.run(run_raw(messages, processes=processes))
    out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1:])
