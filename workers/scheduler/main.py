"""`frontdesk scheduler`: the loop that hands due scheduled messages to the dispatcher and
records SLA warnings and breaches as they fall due (``workers.scheduler.service_levels``), wakes
snoozed conversations whose time has come (``workers.scheduler.snooze``) and expires idle bot
dialogues (``workers.scheduler.dialogues``).

Run as many as you like: each row is claimed with ``FOR UPDATE SKIP LOCKED`` and settled in the
transaction that claims it, so every reservation and rule makes one message at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import UTC, datetime

import structlog

from persistence.uow import UnitOfWorkFactory
from workers.scheduler.dialogues import DialogueExpirer
from workers.scheduler.handover import Scheduler
from workers.scheduler.service_levels import ServiceLevelSweeper
from workers.scheduler.snooze import SnoozeWaker
from workers.settings import Settings
from workers.triggers.sweep import TriggerSweeper

log = structlog.get_logger(__name__)
IDLE_POLL_SECONDS = 1.0


def utc_now() -> datetime:
    return datetime.now(UTC)


async def run_scheduler(settings: Settings, stop: asyncio.Event) -> None:
    uow_factory = UnitOfWorkFactory.from_settings(settings)
    scheduler = Scheduler(uow_factory=uow_factory, clock=utc_now)
    triggers = TriggerSweeper(uow_factory=uow_factory, clock=utc_now)
    sweeper = ServiceLevelSweeper(uow_factory=uow_factory, clock=utc_now)
    waker = SnoozeWaker(uow_factory=uow_factory, clock=utc_now)
    dialogues = DialogueExpirer(uow_factory=uow_factory, clock=utc_now)
    log.info("scheduler started")
    try:
        while not stop.is_set():
            try:
                decided = await triggers.run_due()
                woken = await waker.run_due() + await dialogues.run_due()
                busy = decided + woken + len(await scheduler.run_due()) + await sweeper.run_due()
            except Exception:  # the database is away: log once per sweep, go on
                log.exception("scheduler sweep failed")
                busy = 0
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), IDLE_POLL_SECONDS)
    finally:
        await uow_factory.dispose()
        log.info("scheduler stopped")


def scheduler_main(settings: Settings) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await run_scheduler(settings, stop)

    asyncio.run(main())
