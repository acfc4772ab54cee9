"""With the broker gone the ingress answers 503 so providers retry, and recovers by itself."""

from __future__ import annotations

import time
from collections import Counter
from urllib.parse import urlsplit

from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, IngressFactory
from tests.providers import payloads
from tests.providers.factories import make_route
from tests.support.tcp_proxy import TcpProxy, through_proxy

RECOVERY_DEADLINE_SECONDS = 30.0


async def test_outage_answers_503_then_recovers(
    make_ingress: IngressFactory, capture: Capture, amqp_url: str
) -> None:
    broker = urlsplit(amqp_url)
    proxy = TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672)
    await proxy.start()
    try:
        ingress = await make_ingress(amqp_url=through_proxy(amqp_url, proxy.port))
        route = ingress.channels.add(make_route(Provider.TELEGRAM))

        def update(update_id: int) -> dict[str, object]:
            return support.telegram(route, {**payloads.TELEGRAM_TEXT, "update_id": update_id})

        assert (await ingress.client.post(**update(1))).status_code == 200
        (event,) = await capture.events(1)
        assert event["provider_event_id"] == "123456:1"

        await proxy.cut()
        response = await ingress.client.post(**update(2))
        assert response.status_code == 503, response.text
        assert int(response.headers["Retry-After"]) >= 1
        await capture.assert_nothing_published()

        await proxy.restore()
        # The provider's retries, played until the robust connection is back.
        deadline = time.monotonic() + RECOVERY_DEADLINE_SECONDS
        statuses: Counter[int] = Counter()
        while True:
            response = await ingress.client.post(**update(2))
            statuses[response.status_code] += 1
            if response.status_code == 200 or time.monotonic() > deadline:
                break
        assert response.status_code == 200, statuses
        assert set(statuses) <= {200, 503}, statuses
        (event,) = await capture.events(1)
        assert event["provider_event_id"] == "123456:2"
    finally:
        await proxy.close()
