"""Stopping, killing and cutting off workers mid-stream loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.runtime.support import accepted, effect_consumer, effects
from tests.support.tcp_proxy import TcpProxy, through_proxy
from tests.support.waiting import eventually
from workers.runtime.publisher import Publisher
from workers.runtime.runner import Worker
from workers.runtime.topology import declare_topology

ROOT = Path(__file__).resolve().parents[2]


async def spawn_worker(settings, name: str, log: Path) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": settings.database_url,
        "FRONTDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "FRONTDESK_AMQP_URL": settings.amqp_url,
        "FRONTDESK_EXCHANGE": settings.exchange,
        "FRONTDESK_WORKER_BATCH_SIZE": str(settings.worker_batch_size),
        "FRONTDESK_LOG_JSON": "true",
    }
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.runtime.worker_process",
            name,
            "16",
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=output,
        )


async def publish_all(settings, events) -> None:
    publisher = Publisher(settings.amqp_url, settings.exchange, timeout=30)
    try:
        for start in range(0, len(events), 200):
            await publisher.publish_many(events[start : start + 200])
    finally:
        await publisher.close()


async def queue_drained(broker, name: str) -> bool:
    channel = await broker.channel()
    try:
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count == 0
    finally:
        await channel.close()


@pytest.mark.slow
async def test_sigterm_and_sigkill_during_a_burst_leave_exactly_one_effect_each(
    worker_settings, make_tenant, owner_engine, broker, declared, tmp_path
) -> None:
    settings = worker_settings
    tenant = await make_tenant()
    consumer = effect_consumer("burst")
    queues = consumer.queues(settings.exchange)
    declared.append(queues)
    channel = await broker.channel()
    await declare_topology(channel, settings.exchange, [queues])
    await channel.close()
    events = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(1000)]
    await publish_all(settings, events)
    log = tmp_path / "worker.log"

    async def applied_at_least(count: int) -> None:
        async def enough() -> bool:
            return len(await effects(owner_engine, tenant.tenant_id)) >= count

        await eventually(enough, deadline=60, what=f"{count} events applied ({log})")

    first = await spawn_worker(settings, "burst", log)
    await applied_at_least(150)
    first.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(first.wait(), 30) == 0, log.read_text()[-3000:]
    after_sigterm = len(await effects(owner_engine, tenant.tenant_id))
    assert after_sigterm < len(events), "the burst was over before the stop: test proves nothing"

    second = await spawn_worker(settings, "burst", log)
    await applied_at_least(after_sigterm + 200)
    second.kill()  # no goodbye: its unacked deliveries come back to the next worker
    await second.wait()

    third = await spawn_worker(settings, "burst", log)
    try:
        await applied_at_least(len(events))

        async def drained() -> bool:
            return await queue_drained(broker, queues.main)

        await eventually(drained, deadline=30, what="the queue to drain")
    finally:
        third.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(third.wait(), 30) == 0, log.read_text()[-3000:]
    assert await effects(owner_engine, tenant.tenant_id) == {str(e.event_id): 1 for e in events}
    assert await queue_drained(broker, queues.dead)


async def test_a_cut_broker_connection_recovers_and_finishes_the_stream(
    settings, start_worker, make_tenant, owner_engine, broker
) -> None:
    tenant = await make_tenant()
    address = urlsplit(settings.amqp_url)
    proxy = TcpProxy(address.hostname or "127.0.0.1", address.port or 5672)
    await proxy.start()
    try:
        proxied = through_proxy(settings.amqp_url, proxy.port, reconnect_interval="0.1")
        consumer = effect_consumer("cut", prefetch=8)
        worker = await start_worker([consumer], amqp_url=proxied)
        events = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(600)]
        await publish_all(settings, events)

        async def some_applied() -> bool:
            return len(await effects(owner_engine, tenant.tenant_id)) >= 50

        await eventually(some_applied, what="the stream to start")
        await proxy.cut()

        async def noticed() -> bool:
            return not worker.healthy()

        await eventually(noticed, what="the worker to notice the cut")
        assert len(await effects(owner_engine, tenant.tenant_id)) < len(events)
        await proxy.restore()

        async def all_applied() -> bool:
            return len(await effects(owner_engine, tenant.tenant_id)) == len(events)

        await eventually(all_applied, deadline=60, what="the whole stream after the cut")

        async def drained() -> bool:
            return await queue_drained(broker, consumer.queues(settings.exchange).main)

        await eventually(drained, deadline=30, what="the queue to drain")
        assert worker.healthy()
        assert await effects(owner_engine, tenant.tenant_id) == {str(e.event_id): 1 for e in events}
    finally:
        await proxy.close()


async def _app_backends(owner_engine, role: str) -> set[int]:
    async with owner_engine.connect() as connection:
        rows = await connection.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE usename = $1 AND datname = current_database()",
            (role,),
        )
        return {pid for (pid,) in rows.all()}


async def test_database_connections_killed_mid_stream_cost_a_retry_not_an_event(
    worker_settings, declared, make_tenant, owner_engine, broker
) -> None:
    """Pooled connections are not pinged before use: one that died fails as the unit of work
    begins, which reconnects (``persistence.retry``) instead of failing the delivery."""
    settings = worker_settings
    tenant = await make_tenant()
    consumer = effect_consumer("dbcut", prefetch=8)
    declared.append(consumer.queues(settings.exchange))
    others = await _app_backends(owner_engine, settings.app_role)
    worker = Worker(settings, [consumer], concurrency=8)  # its own pool, so only its connections
    await worker.start()
    try:
        first = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(40)]
        await publish_all(settings, first)

        async def first_applied() -> bool:
            return len(await effects(owner_engine, tenant.tenant_id)) == len(first)

        await eventually(first_applied, what="the first batch")
        pooled = await _app_backends(owner_engine, settings.app_role) - others
        assert pooled, "the worker should hold pooled connections between events"
        async with owner_engine.connect() as connection:
            await connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", (list(pooled),)
            )

        second = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(40)]
        await publish_all(settings, second)

        async def all_applied() -> bool:
            return len(await effects(owner_engine, tenant.tenant_id)) == len(first + second)

        await eventually(all_applied, deadline=30, what="the batch after the database cut")
        assert await effects(owner_engine, tenant.tenant_id) == {
            str(e.event_id): 1 for e in first + second
        }
        assert await queue_drained(broker, consumer.queues(settings.exchange).dead)
        now_pooled = await _app_backends(owner_engine, settings.app_role) - others
        assert now_pooled, "the worker should hold connections again"
        assert not now_pooled & pooled, "the killed connections should have been replaced"
    finally:
        await worker.stop(grace=5)
