"""Liveness, readiness, metrics and the OpenAPI document."""

from __future__ import annotations

import asyncio

from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, IngressFactory
from tests.providers import payloads
from tests.providers.factories import make_route


async def ok() -> bool:
    return True


async def unreachable() -> bool:
    raise ConnectionRefusedError("no route to the database")


async def hanging() -> bool:
    await asyncio.Event().wait()
    return True


async def test_healthz(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress()
    response = await ingress.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_when_everything_answers(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(readiness_checks={"database": ok, "broker": ok})
    response = await ingress.client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


async def test_readyz_names_what_is_down(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress(
        readiness_checks={"database": unreachable, "broker": hanging, "cache": ok}
    )
    response = await ingress.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {
        "database": "unavailable",
        "broker": "unavailable",
        "cache": "ok",
    }


async def test_metrics_count_outcomes_and_publish_latency(
    make_ingress: IngressFactory, capture: Capture
) -> None:
    ingress = await make_ingress()
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    assert (
        await ingress.client.post(**support.telegram(route, payloads.TELEGRAM_TEXT))
    ).status_code == 200
    forged = {**support.telegram(route, payloads.TELEGRAM_TEXT)}
    forged["headers"] = {**forged["headers"], "X-Telegram-Bot-Api-Secret-Token": "guess"}
    assert (await ingress.client.post(**forged)).status_code == 403
    await capture.events(1)

    text = (await ingress.client.get("/metrics")).text
    labels = 'provider="telegram",route="/webhooks/telegram/{channel_id}"'
    assert f'frontdesk_ingress_requests_total{{outcome="accepted",{labels}}} 1.0' in text
    assert f'frontdesk_ingress_requests_total{{outcome="forbidden",{labels}}} 1.0' in text
    assert 'frontdesk_ingress_publish_seconds_count{provider="telegram"} 1.0' in text


async def test_openapi_describes_every_route(make_ingress: IngressFactory) -> None:
    ingress = await make_ingress()
    document = (await ingress.client.get("/openapi.json")).json()
    paths = document["paths"]
    expected = {
        ("/webhooks/green-api/{channel_id}", "post"),
        ("/webhooks/whatsapp/{channel_id}", "get"),
        ("/webhooks/whatsapp/{channel_id}", "post"),
        ("/webhooks/twilio/{channel_id}", "post"),
        ("/webhooks/twilio/{channel_id}/status", "post"),
        ("/webhooks/telegram/{channel_id}", "post"),
        ("/webhooks/email/{channel_id}", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/ack/{token}", "get"),
        ("/ack/{token}", "post"),
        ("/webhooks/pms/{integration_id}", "post"),
    }
    assert {(path, method) for path, item in paths.items() for method in item} == expected
    for path, method in expected:
        operation = paths[path][method]
        assert operation.get("description") or operation.get("summary"), (path, method)
        if path.startswith("/webhooks/") and method == "post":
            assert operation["requestBody"]["content"], path
            assert {"401", "403", "404", "413", "503"} <= set(operation["responses"]), path


async def test_a_body_declared_too_large_is_counted_before_any_lookup(
    make_ingress: IngressFactory, capture: Capture
) -> None:
    ingress = await make_ingress(max_body_bytes=64)
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    response = await ingress.client.post(**support.telegram(route, payloads.TELEGRAM_TEXT))
    assert response.status_code == 413
    assert ingress.channels.lookups == 0
    text = (await ingress.client.get("/metrics")).text
    labels = 'provider="telegram",route="/webhooks/telegram/{channel_id}"'
    assert f'frontdesk_ingress_requests_total{{outcome="too_large",{labels}}} 1.0' in text
    await capture.assert_nothing_published()
