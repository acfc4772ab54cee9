"""The health/metrics endpoint and the log context a delivery carries."""

from __future__ import annotations

from dataclasses import replace

import httpx
import structlog

from tests.runtime.support import accepted, effect_consumer, effects
from tests.support.waiting import eventually
from workers.runtime.metrics import serve_metrics
from workers.runtime.publisher import Publisher


async def test_metrics_and_health_endpoint() -> None:
    healthy = [True]
    server = await serve_metrics(0, lambda: healthy[0], host="127.0.0.1")
    port = server.sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 200
            healthy[0] = False
            assert (await client.get("/healthz")).status_code == 503
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert "frontdesk_consumer_processed_total" in metrics.text
            assert (await client.get("/nope")).status_code == 404
    finally:
        server.close()
        await server.wait_closed()


async def test_handler_logs_carry_the_delivery_context(
    settings, start_worker, make_tenant, owner_engine
) -> None:
    tenant = await make_tenant()
    consumer = effect_consumer("logged")
    seen: list[dict[str, object]] = []
    original = consumer.handle

    async def handle(event, uow) -> None:
        seen.append(structlog.contextvars.get_contextvars())
        await original(event, uow)

    await start_worker([replace(consumer, handle=handle)])
    event = accepted(tenant.tenant_id, tenant.channel_id)
    publisher = Publisher(settings.amqp_url, settings.exchange)
    try:
        await publisher.publish(event)
    finally:
        await publisher.close()

    async def applied() -> bool:
        return bool(await effects(owner_engine, tenant.tenant_id))

    await eventually(applied, what="the event applied")
    assert seen == [
        {
            "consumer": "logged",
            "attempt": 1,
            "tenant_id": str(tenant.tenant_id),
            "event_id": str(event.event_id),
        }
    ]
