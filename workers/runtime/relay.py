"""The outbox relay: publishes committed events that nobody published (a crash, a broker blip).

Each sweep claims unpublished rows with ``FOR UPDATE SKIP LOCKED`` in one transaction, publishes
them confirmed, marks them published and commits, so two relays never send the same row while
both are alive, and a relay that dies mid-sweep releases its rows to the next one. Progress is
never tracked as "id > last seen": rows commit out of id order, and such a cursor skips them.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import orjson
from pydantic import ValidationError

from domain.events import Event, decode
from workers.logging import get_logger
from workers.runtime.metrics import RELAYED
from workers.runtime.publisher import Publisher
from workers.settings import Settings

if TYPE_CHECKING:
    from persistence.system import OutboxRecord
    from persistence.uow import UnitOfWorkFactory

log = get_logger("frontdesk.relay")
DEFAULT_BATCH = 200
IDLE_POLL_SECONDS = 0.5
FAILURE_BACKOFF_SECONDS = 2.0


def event_of(record: OutboxRecord) -> Event:
    """The event an outbox row holds (``type`` is in the payload; the column backs it up)."""
    return decode(orjson.dumps({"type": record.event_type, **record.payload}))


async def relay_once(
    uow_factory: UnitOfWorkFactory, publisher: Publisher, *, batch: int, min_age: float = 0.0
) -> int:
    """Publish up to ``batch`` unpublished outbox rows; returns how many were published.

    Rows younger than ``min_age`` seconds are left to the consumer that wrote them, which
    publishes them right after its commit; sweeping them too would only publish them twice.
    """
    cutoff = datetime.now(UTC) - timedelta(seconds=min_age)
    async with uow_factory.system() as system:
        records = await system.claim_outbox(batch)
        events: list[Event] = []
        published_ids = []
        for record in records:
            if min_age and record.created_at is not None and record.created_at > cutoff:
                continue
            try:
                events.append(event_of(record))
                published_ids.append(record.id)
            except ValidationError as exc:
                # Left unpublished and reported on every sweep: a bug to fix, not to drop.
                log.error(
                    "outbox row is not a valid event", outbox_id=str(record.id), error=str(exc)
                )
        if not events:
            return 0
        await publisher.publish_many(events)
        await system.mark_outbox_published(published_ids)
        await system.commit()
    RELAYED.inc(len(events))
    return len(events)


async def relay_forever(
    uow_factory: UnitOfWorkFactory,
    publisher: Publisher,
    *,
    batch: int = DEFAULT_BATCH,
    idle_poll: float = IDLE_POLL_SECONDS,
    min_age: float = 0.0,
    stop: asyncio.Event | None = None,
) -> None:
    """Sweep until ``stop`` is set: at once while there is a backlog, every ``idle_poll``
    seconds when there is none, with a pause after a failure (broker or database away)."""
    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            published = await relay_once(uow_factory, publisher, batch=batch, min_age=min_age)
        except Exception as exc:
            log.warning("relay sweep failed; will retry", error=repr(exc))
            published, pause = 0, FAILURE_BACKOFF_SECONDS
        else:
            if published:
                log.info("relayed outbox rows", count=published)
            pause = idle_poll
        if published >= batch:
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), pause)


async def run_relay(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    from persistence.uow import UnitOfWorkFactory

    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    uow_factory = UnitOfWorkFactory.from_settings(settings)
    publisher = Publisher.from_settings(settings)
    log.info("relay started")
    try:
        await relay_forever(
            uow_factory, publisher, min_age=settings.relay_min_age_seconds, stop=stop
        )
    finally:
        await publisher.close()
        await uow_factory.dispose()
        log.info("relay stopped")


def relay_main(settings: Settings) -> None:
    """Entry point of ``frontdesk relay``."""
    asyncio.run(run_relay(settings))
