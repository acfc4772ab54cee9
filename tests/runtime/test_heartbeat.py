"""A silent network cut (nothing closed, nothing arriving) is noticed by the heartbeat."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from tests.runtime.blackhole import BlackholeProxy
from tests.runtime.support import accepted, effect_consumer, effects
from tests.support.tcp_proxy import through_proxy
from tests.support.waiting import eventually
from workers.runtime.publisher import build_message
from workers.settings import Settings

HEARTBEAT = 1


def detection_bound(heartbeat: int) -> float:
    """aiormq gives up after three missed heartbeats, 3 x (heartbeat + 1) s, and checks every
    heartbeat / 2 s; one more heartbeat of slack for a loaded machine."""
    return 3 * (heartbeat + 1) + 2 * heartbeat


async def test_a_blackholed_consumer_notices_and_recovers(
    settings, start_worker, make_tenant, owner_engine, broker
) -> None:
    tenant = await make_tenant()
    address = urlsplit(settings.amqp_url)
    proxy = BlackholeProxy(address.hostname or "127.0.0.1", address.port or 5672)
    await proxy.start()
    try:
        proxied = through_proxy(settings.amqp_url, proxy.port, reconnect_interval="0.2")
        consumer = effect_consumer("heartbeat", prefetch=4)
        worker = await start_worker([consumer], amqp_url=proxied, amqp_heartbeat_seconds=HEARTBEAT)
        channel = await broker.channel()
        exchange = await channel.get_exchange(settings.exchange)
        before, after = (accepted(tenant.tenant_id, tenant.channel_id) for _ in range(2))
        await exchange.publish(build_message(before), routing_key=before.routing_key)

        async def applied(count: int) -> bool:
            return len(await effects(owner_engine, tenant.tenant_id)) == count

        await eventually(lambda: applied(1), what="the first event")
        assert worker.healthy()

        proxy.blackhole()
        cut_at = time.monotonic()

        async def noticed() -> bool:
            return not worker.healthy()

        await eventually(
            noticed, deadline=detection_bound(HEARTBEAT), what="the worker to notice the cut"
        )
        assert time.monotonic() - cut_at >= HEARTBEAT  # the heartbeat noticed, not a close

        # Published meanwhile, straight to the broker: it waits for the worker to come back.
        await exchange.publish(build_message(after), routing_key=after.routing_key)
        proxy.forward()
        await eventually(lambda: applied(2), deadline=30, what="consuming after the cut")

        async def healthy() -> bool:
            return worker.healthy()

        await eventually(healthy, what="the worker to report healthy again")
        await channel.close()
    finally:
        await proxy.close()


def test_the_default_heartbeat_notices_a_dead_network_within_seconds() -> None:
    default = Settings.model_fields["amqp_heartbeat_seconds"].default
    assert detection_bound(default) <= 30  # aiormq's own default (60 s) takes over 3 minutes
