"""A worker process for the shutdown tests: ``python -m tests.runtime.worker_process NAME N``.

Runs the counting test consumer ``NAME`` with ``N`` deliveries in flight, configured (database,
broker, exchange) from the ``FRONTDESK_*`` environment like any frontdesk process.
"""

from __future__ import annotations

import sys

from tests.runtime.support import effect_consumer
from workers.logging import configure_logging
from workers.runtime.registry import run_until_stopped
from workers.runtime.runner import run_workers
from workers.settings import Settings


def main() -> None:
    name, concurrency = sys.argv[1], int(sys.argv[2])
    settings = Settings()
    configure_logging(settings)
    consumer = effect_consumer(name)
    run_until_stopped(lambda: run_workers(settings, [consumer], concurrency=concurrency))


if __name__ == "__main__":
    main()
