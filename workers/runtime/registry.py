"""The consumers a worker process can run, by name: ``frontdesk worker NAME [NAME...]``.

Each entry builds its consumer from the settings, so services (a sentiment model, provider
clients) are made once per process and handed to the handler by closure.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

from domain.semantic import configure_shared_embedder
from persistence.uow import UnitOfWorkFactory
from workers.consumers import (
    PIPELINE,
    composer,
    documents,
    planner,
    reservations,
    router,
    triggers,
)
from workers.heap import freeze_startup_objects
from workers.runtime.consumer import Consumer
from workers.runtime.runner import run_workers
from workers.settings import Settings


class UnknownConsumerError(LookupError):
    """A worker was asked to run a consumer nobody registered."""


CONSUMERS: dict[str, Callable[[Settings], Consumer]] = {
    **PIPELINE,
    planner.NAME: lambda settings: planner.consumer(),
    composer.NAME: lambda settings: composer.consumer(
        uow_factory=UnitOfWorkFactory.from_settings(settings)
    ),
    router.NAME: lambda settings: router.consumer(),
    triggers.NAME: lambda settings: triggers.consumer(),
    documents.NAME: lambda settings: documents.consumer(),
    reservations.NAME: lambda settings: reservations.consumer(),
}


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
    configure_shared_embedder(threads=settings.embed_threads)
    try:
        consumers = build_consumers(names, settings)
    except UnknownConsumerError as exc:
        raise SystemExit(f"frontdesk worker: {exc}") from None
    freeze_startup_objects()
    run_until_stopped(
        lambda: run_workers(settings, consumers, concurrency=concurrency, metrics_port=metrics_port)
    )
