"""Start-up objects are frozen out of the collector's walks in long-running processes."""

from __future__ import annotations

import gc

from workers.heap import freeze_startup_objects


def test_freezing_moves_every_tracked_object_out_of_the_collectors_generations() -> None:
    try:
        freeze_startup_objects()
        assert gc.get_freeze_count() > 10_000  # the interpreter, pytest, frontdesk's modules
        assert sum(gc.get_count()) < 1_000  # the generations start again almost empty
    finally:
        gc.unfreeze()
