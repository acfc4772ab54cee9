"""Waiting for a condition in tests: poll it until it holds or a deadline passes; never a fixed
sleep, which is too short on a busy machine and wasted time on an idle one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")
DEADLINE_SECONDS = 20.0
POLL_SECONDS = 0.05


async def eventually(
    check: Callable[[], Awaitable[T]],
    what: str = "the condition",
    *,
    deadline: float = DEADLINE_SECONDS,
) -> T:
    """Poll ``check`` until it returns something truthy and return that; fail the test, naming
    ``what`` and the last value, once ``deadline`` seconds have passed."""
    give_up = time.monotonic() + deadline
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > give_up:
            last = f"last: {value!r}"
            raise AssertionError(f"timed out after {deadline}s waiting for {what} ({last})")
        await asyncio.sleep(POLL_SECONDS)
