"""Per-consumer Prometheus metrics and the worker's health/metrics HTTP endpoint.

``GET /metrics`` serves the Prometheus text format; ``GET /healthz`` answers 200 while the
worker is connected and consuming, 503 otherwise, so an orchestrator restarts a stuck worker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

PROCESSED = Counter(
    "frontdesk_consumer_processed_total", "Events whose effects were committed.", ["consumer"]
)
DUPLICATES = Counter(
    "frontdesk_consumer_duplicates_total", "Redelivered events acked without effect.", ["consumer"]
)
RETRIED = Counter(
    "frontdesk_consumer_retried_total", "Deliveries sent to a retry tier.", ["consumer", "tier"]
)
DEAD_LETTERED = Counter(
    "frontdesk_consumer_dead_lettered_total",
    "Deliveries sent to the dead-letter queue.",
    ["consumer", "reason"],
)
PUBLISH_DEFERRED = Counter(
    "frontdesk_consumer_publish_deferred_total",
    "Committed events whose publish failed and were left to the outbox relay.",
    ["consumer"],
)
HANDLER_SECONDS = Histogram(
    "frontdesk_consumer_handler_seconds",
    "Time from the start of a delivery's batch to its commit (one observation per delivery).",
    ["consumer"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
BATCH_SIZE = Histogram(
    "frontdesk_consumer_batch_size",
    "Deliveries applied together in one transaction (1 for a delivery applied alone).",
    ["consumer"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
BATCH_FALLBACKS = Counter(
    "frontdesk_consumer_batch_fallbacks_total",
    "Batches rolled back because one event failed; their events were then applied one by one.",
    ["consumer"],
)
IN_FLIGHT = Gauge("frontdesk_consumer_in_flight", "Deliveries being handled now.", ["consumer"])
RELAYED = Counter("frontdesk_relay_published_total", "Outbox rows published by the relay.")

HealthCheck = Callable[[], bool]


async def _serve_one(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, healthy: HealthCheck
) -> None:
    try:
        request_line = await asyncio.wait_for(reader.readline(), 5)
        while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
            pass
    except (TimeoutError, ConnectionError):
        writer.close()
        return
    parts = request_line.decode(errors="replace").split()
    path = parts[1] if len(parts) > 1 else "/"
    if path.startswith("/metrics"):
        status, content_type, body = "200 OK", CONTENT_TYPE_LATEST, generate_latest()
    elif path.startswith("/healthz"):
        ok = healthy()
        status = "200 OK" if ok else "503 Service Unavailable"
        content_type, body = "text/plain", b"ok\n" if ok else b"unhealthy\n"
    else:
        status, content_type, body = "404 Not Found", "text/plain", b"not found\n"
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    writer.write(head.encode() + body)
    with contextlib.suppress(ConnectionError):
        await writer.drain()
    writer.close()


async def serve_metrics(port: int, healthy: HealthCheck, host: str = "0.0.0.0") -> asyncio.Server:  # noqa: S104 - scraped from outside the host
    """Start the endpoint; the caller closes the returned server."""
    return await asyncio.start_server(
        lambda reader, writer: _serve_one(reader, writer, healthy), host, port
    )
