"""Gathering a queue's deliveries into batches applied in one transaction each.

Every delivery the broker hands over joins a queue and waits for its batch to settle. Batch
loops take whatever is waiting, up to ``max_batch``, and apply it together
(``DeliveryProcessor.process``). Under light load a batch is one delivery, so nothing waits
for company; under load the batches fill and one BEGIN/COMMIT, one confirmed publish round and
one connection serve many events. With ``max_batch=1`` every delivery is a transaction of its
own, the loops being how many run at once.
"""

from __future__ import annotations

import asyncio
import contextlib

from aio_pika.abc import AbstractIncomingMessage

from workers.logging import get_logger
from workers.runtime.delivery import DeliveryProcessor

log = get_logger("frontdesk.runtime")


class Batcher:
    """``loops`` transactions at once, each applying up to ``max_batch`` waiting deliveries."""

    def __init__(self, processor: DeliveryProcessor, *, max_batch: int, loops: int) -> None:
        self._processor = processor
        self._max_batch = max_batch
        self._waiting: asyncio.Queue[tuple[AbstractIncomingMessage, asyncio.Future[None]]] = (
            asyncio.Queue()
        )
        self._loops = [asyncio.create_task(self._loop()) for _ in range(max(1, loops))]

    async def submit(self, message: AbstractIncomingMessage) -> None:
        """Returns once ``message`` is settled (acked, retried or dead-lettered)."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.put_nowait((message, done))
        await done

    async def _loop(self) -> None:
        while True:
            batch = [await self._waiting.get()]
            while len(batch) < self._max_batch and not self._waiting.empty():
                batch.append(self._waiting.get_nowait())
            try:
                await self._processor.process([message for message, _ in batch])
            except Exception as exc:  # the processor settles every delivery itself
                log.error("batch failed outside its handlers", exc_info=exc)
            finally:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def close(self) -> None:
        for loop in self._loops:
            loop.cancel()
        for loop in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await loop
