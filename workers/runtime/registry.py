"""The consumers a worker process can run, by name: ``frontdesk worker NAME [NAME...]``.

Each entry builds its consumer from the settings, so services (a sentiment model, provider
clients) are made once per process and handed to the handler by closure.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from domain.events import Event
from workers.consumers import PIPELINE
from workers.heap import freeze_startup_objects
from workers.runtime.consumer import Consumer
from workers.runtime.runner import run_workers
from workers.settings import Settings

if TYPE_CHECKING:
    from persistence.uow import UnitOfWork

NOOP_ROUTING_KEY_VARIABLE = "FRONTDESK_NOOP_ROUTING_KEY"
DEFAULT_NOOP_ROUTING_KEY = "bench.noop"


class UnknownConsumerError(LookupError):
    """A worker was asked to run a consumer nobody registered."""


async def _do_nothing(event: Event, uow: UnitOfWork) -> None:
    """The runtime's own cost: decode, inbox row, commit, ack."""


def noop_consumer(settings: Settings) -> Consumer:
    """Takes any event on one routing key (``FRONTDESK_NOOP_ROUTING_KEY``, read when the worker
    starts) and does nothing with it: for measuring the runtime."""
    routing_key = os.environ.get(NOOP_ROUTING_KEY_VARIABLE, DEFAULT_NOOP_ROUTING_KEY)
    return Consumer(
        name="noop", routing_keys=(routing_key,), event_types=(Event,), handle=_do_nothing
    )


CONSUMERS: dict[str, Callable[[Settings], Consumer]] = {"noop": noop_consumer, **PIPELINE}


def build_consumers(names: list[str], settings: Settings) -> list[Consumer]:
    unknown = sorted(set(names) - CONSUMERS.keys())
    if unknown:
        raise UnknownConsumerError(
            f"unknown consumer(s) {', '.join(unknown)}; known: {', '.join(sorted(CONSUMERS))}"
        )
    return [CONSUMERS[name](settings) for name in dict.fromkeys(names)]


def run_until_stopped(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a coroutine function on uvloop when it is installed, else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not available on every platform
        asyncio.run(main())
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


def worker_main(
    names: list[str], concurrency: int | None, settings: Settings, *, metrics_port: int = 0
) -> None:
    """Entry point of ``frontdesk worker``: run the named consumers until SIGTERM/SIGINT."""
    try:
        consumers = build_consumers(names, settings)
    except UnknownConsumerError as exc:
        raise SystemExit(f"frontdesk worker: {exc}") from None
    freeze_startup_objects()
    run_until_stopped(
        lambda: run_workers(settings, consumers, concurrency=concurrency, metrics_port=metrics_port)
    )
