"""`frontdesk dispatcher`: the loop that sends due outbound messages and staff alerts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime

import structlog

from persistence.directory import ChannelDirectory
from persistence.uow import UnitOfWorkFactory
from workers.channel_cache import CachedChannels
from workers.dispatch.alerts import AlertDispatcher
from workers.dispatch.outbound import OutboundDispatcher
from workers.providers.registry import build_senders, http_client
from workers.runtime.publisher import Publisher
from workers.settings import Settings

log = structlog.get_logger(__name__)
IDLE_POLL_SECONDS = 0.25
# How often sends left ``sending`` by a crash are looked for (and once at start-up).
RECOVERY_SECONDS = 15.0


def utc_now() -> datetime:
    return datetime.now(UTC)


async def run_dispatcher(settings: Settings, stop: asyncio.Event) -> None:
    uow_factory = UnitOfWorkFactory.from_settings(settings)
    directory = ChannelDirectory.from_settings(settings)
    routes = CachedChannels(directory, ttl=settings.channel_cache_seconds)
    publisher = Publisher.from_settings(settings)
    client = http_client()
    senders = build_senders(
        client,
        public_base_url=settings.public_base_url,
        whatsapp_graph_version=settings.whatsapp_graph_version,
    )
    outbound = OutboundDispatcher(
        uow_factory=uow_factory,
        senders=senders,
        routes=routes.lookup,
        clock=utc_now,
        publish=publisher.publish_many,
    )
    alerts = AlertDispatcher(
        uow_factory=uow_factory,
        senders=senders,
        routes=routes.lookup,
        http=client,
        signing_key=settings.signing_key.get_secret_value().encode(),
        public_base_url=settings.public_base_url,
        clock=utc_now,
    )
    log.info("dispatcher started")
    loop = asyncio.get_running_loop()
    recover_at = loop.time()
    try:
        while not stop.is_set():
            try:
                if loop.time() >= recover_at:
                    recover_at = loop.time() + RECOVERY_SECONDS
                    await outbound.recover_stale()
                # A throttled send is work for a later sweep, not a reason to sweep at once.
                sent = [o for o in await outbound.dispatch_due() if o.status != "throttled"]
                busy = len(sent) + await alerts.alert_due()
            except Exception:  # the database or broker is away: log once per sweep, go on
                log.exception("dispatch sweep failed")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), IDLE_POLL_SECONDS)
    finally:
        await client.aclose()
        await publisher.close()
        await directory.close()
        await uow_factory.dispose()
        log.info("dispatcher stopped")


def dispatcher_main(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_dispatcher(settings, stop)

    asyncio.run(main())
