"""Handling deliveries: decode, apply exactly once, then ack, retry or dead-letter.

Deliveries are applied in batches, one transaction per batch; a single delivery is a batch of
one and takes the same path. The order is what makes an at-least-once broker give exactly-once
effects:

1. the inbox rows, the handlers' rows and their outbox rows commit in one transaction;
2. the events they emitted are published (confirmed) and marked published; a failure here loses
   nothing, because the outbox relay publishes whatever stayed unmarked;
3. only then is each delivery acked. A crash anywhere before the ack means a redelivery, which
   finds its inbox row and is acked without effect.

When a batch fails it rolls back whole: a batch of one takes its failure to a retry tier or to
the dead letters; a larger one sends the event to blame (if one is) that way and applies each of
the others again as a batch of one, so one failing event never takes its batch-mates' retries
or dead letters with it.

A failed delivery is copied to a retry tier or to the dead-letter queue, confirmed, before the
original is acked, so a crash between the two leaves a duplicate (absorbed by the inbox) and
never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError
from structlog.contextvars import bound_contextvars

from domain.events import Event, decode
from persistence.retry import is_connection_error
from workers.logging import get_logger
from workers.runtime import headers
from workers.runtime.classify import (
    DatabaseUnavailable,
    is_connection_failure,
    is_data_error,
    is_transaction_conflict,
    is_unknown_tenant,
)
from workers.runtime.consumer import Consumer, Prepare
from workers.runtime.errors import DeadLetterReason, PermanentError
from workers.runtime.marker import PublishedMarker
from workers.runtime.metrics import (
    BATCH_FALLBACKS,
    BATCH_SIZE,
    DEAD_LETTERED,
    DUPLICATES,
    HANDLER_SECONDS,
    IN_FLIGHT,
    PROCESSED,
    PUBLISH_DEFERRED,
    RETRIED,
)
from workers.runtime.publisher import Publisher
from workers.runtime.topology import ConsumerQueues

if TYPE_CHECKING:
    from contextlib import AsyncExitStack
    from uuid import UUID

    from persistence.uow import UnitOfWork, UnitOfWorkFactory

log = get_logger("frontdesk.runtime")
Settlement = Literal["ack", "nack"]


class Undeliverable(Exception):
    """The body cannot become an event of this consumer; no retry can change that."""

    def __init__(self, reason: DeadLetterReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def decode_for(consumer: Consumer, body: bytes) -> Event:
    """The typed event in ``body``, or ``Undeliverable`` saying why not."""
    try:
        event: Event = decode(body)
    except ValidationError as exc:
        invalid_json = any(error["type"] == "json_invalid" for error in exc.errors())
        reason = DeadLetterReason.UNDECODABLE if invalid_json else DeadLetterReason.SCHEMA
        raise Undeliverable(reason, str(exc)) from exc
    except ValueError as exc:
        raise Undeliverable(DeadLetterReason.UNDECODABLE, str(exc)) from exc
    if not isinstance(event, consumer.event_types):
        raise Undeliverable(
            DeadLetterReason.UNEXPECTED_TYPE,
            f"{consumer.name} does not take {type(event).__name__} ({event.routing_key})",
        )
    return event


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery decoded into an event of the consumer, with the attempt it is."""

    message: AbstractIncomingMessage
    event: Event
    attempt: int

    def context(self) -> dict[str, Any]:
        """What every log line about this delivery carries."""
        return {
            "attempt": self.attempt,
            "tenant_id": str(self.event.tenant_id),
            "event_id": str(self.event.event_id),
        }


class BatchFailed(Exception):
    """A batch rolled back; ``index`` names the delivery whose event failed, or is None when
    the transaction itself failed (it could not begin or commit)."""

    def __init__(self, index: int | None, error: Exception) -> None:
        super().__init__(f"batch failed at {index}: {error!r}")
        self.index = index
        self.error = error


class DeliveryProcessor:
    """Applies a consumer's deliveries, in batches of one or more (``process``)."""

    def __init__(
        self,
        consumer: Consumer,
        queues: ConsumerQueues,
        uow_factory: UnitOfWorkFactory,
        publisher: Publisher,
        marker: PublishedMarker,
    ) -> None:
        self.consumer = consumer
        self.queues = queues
        self.uow_factory = uow_factory
        self.publisher = publisher
        self.marker = marker

    async def process(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Apply ``messages`` in one transaction, then publish what they emitted, then ack each;
        every delivery is settled (acked, retried or dead-lettered) on return."""
        gauge = IN_FLIGHT.labels(self.consumer.name)
        gauge.inc(len(messages))
        try:
            with bound_contextvars(consumer=self.consumer.name):
                batch = [
                    delivery
                    for message in messages
                    if (delivery := await self._decoded(message)) is not None
                ]
                if batch:
                    await self._apply_batch(batch)
        finally:
            gauge.dec(len(messages))

    async def _decoded(self, message: AbstractIncomingMessage) -> Delivery | None:
        """The delivery's event, or None once a body no retry can decode is dead-lettered."""
        attempt = headers.attempt_of(message.headers)
        try:
            event = decode_for(self.consumer, message.body)
        except Undeliverable as exc:
            with bound_contextvars(attempt=attempt):
                await self._dead_letter(message, exc.reason, exc, event=None)
            return None
        return Delivery(message, event, attempt)

    async def _apply_batch(self, batch: Sequence[Delivery]) -> None:
        BATCH_SIZE.labels(self.consumer.name).observe(len(batch))
        started = time.perf_counter()
        try:
            outcomes = await self._apply(batch)
        except BatchFailed as failed:
            await self._recover(batch, failed)
            return
        elapsed = time.perf_counter() - started
        await self._publish([event for emitted in outcomes if emitted for event in emitted])
        for delivery, emitted in zip(batch, outcomes, strict=True):
            HANDLER_SECONDS.labels(self.consumer.name).observe(elapsed)
            counter = DUPLICATES if emitted is None else PROCESSED
            counter.labels(self.consumer.name).inc()
            await self._settle(delivery.message.ack, "ack")

    async def _recover(self, batch: Sequence[Delivery], failed: BatchFailed) -> None:
        """Settle a batch that rolled back: the event to blame has had its try for this
        attempt and takes its failure's way; every other one is applied again on its own."""
        if len(batch) == 1:
            await self._route_failure(batch[0], failed.error)
            return
        BATCH_FALLBACKS.labels(self.consumer.name).inc()
        culprit = failed.index
        if culprit is not None and is_transaction_conflict(failed.error):
            # A lost race (a deadlock between two batches) is nobody's fault.
            culprit = None
        log.info("batch rolled back; applying its events one by one", error=repr(failed))
        for index, delivery in enumerate(batch):
            if index == culprit:
                await self._route_failure(delivery, failed.error)
            else:
                await self._apply_batch([delivery])

    async def _apply(self, batch: Sequence[Delivery]) -> list[list[Event] | None]:
        """Each event's handler in turn, in one transaction rebound to each event's tenant;
        per event, what it emitted, or None when the inbox says it already ran."""
        await self._prepare(batch)
        outcomes: list[list[Event] | None] = []
        try:
            async with contextlib.AsyncExitStack() as stack:
                uow = await self._begin(stack, batch[0].event.tenant_id)
                for index, delivery in enumerate(batch):
                    try:
                        outcomes.append(await self._handle(delivery, uow))
                    except Exception as exc:
                        raise BatchFailed(index, exc) from exc
                await uow.commit()
        except BatchFailed:
            raise
        except Exception as exc:  # beginning or committing the transaction
            raise BatchFailed(None, exc) from exc
        return outcomes

    async def _prepare(self, batch: Sequence[Delivery]) -> None:
        """The consumer's ``prepare`` for every event at once, with no transaction open."""
        prepare = self.consumer.prepare
        if prepare is None:
            return
        results = await asyncio.gather(
            *(self._prepare_one(prepare, delivery) for delivery in batch), return_exceptions=True
        )
        for index, result in enumerate(results):
            if isinstance(result, Exception):
                raise BatchFailed(index, result) from result
            if isinstance(result, BaseException):
                raise result

    @staticmethod
    async def _prepare_one(prepare: Prepare, delivery: Delivery) -> None:
        with bound_contextvars(**delivery.context()):
            await prepare(delivery.event)

    async def _begin(self, stack: AsyncExitStack, tenant_id: UUID) -> UnitOfWork:
        """The batch's unit of work, begun. The driver lets a refused connection through as a
        bare ``OSError``, which is named here for what it is: the database being away."""
        try:
            return await stack.enter_async_context(self.uow_factory(tenant_id))
        except Exception as exc:
            if is_connection_error(exc):
                raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
            raise

    async def _handle(self, delivery: Delivery, uow: UnitOfWork) -> list[Event] | None:
        """One event's part of the batch: what it emitted, or None for a redelivery."""
        event = delivery.event
        with bound_contextvars(**delivery.context()):
            if event.tenant_id != uow.tenant_id:
                await uow.rebind(event.tenant_id)
            if not await uow.inbox.record(consumer=self.consumer.name, event_id=event.event_id):
                return None
            first = len(uow.emitted)
            await self.consumer.handle(event, uow)
            # Written now, so a row the database refuses fails as this event's, not the batch's.
            await uow.flush()
            return uow.emitted[first:]

    async def _publish(self, emitted: list[Event]) -> None:
        if not emitted:
            return
        try:
            await self.publisher.publish_many(emitted)
            self.marker.add(e.event_id for e in emitted)
        except Exception as exc:
            # Committed already: the relay publishes what stayed unmarked.
            PUBLISH_DEFERRED.labels(self.consumer.name).inc()
            log.warning("publish deferred to the outbox relay", error=repr(exc))

    async def _route_failure(self, delivery: Delivery, exc: Exception) -> None:
        message, event, attempt = delivery.message, delivery.event, delivery.attempt
        with bound_contextvars(**delivery.context()):
            if isinstance(exc, PermanentError):
                await self._dead_letter(message, DeadLetterReason.PERMANENT, exc, event=event)
            elif is_data_error(exc):
                await self._dead_letter(message, DeadLetterReason.INVALID_DATA, exc, event=event)
            elif is_unknown_tenant(exc):
                await self._dead_letter(message, DeadLetterReason.UNKNOWN_TENANT, exc, event=event)
            elif is_connection_failure(exc):
                # The database being away says nothing about the event: keep its attempts.
                await self._retry(message, attempt, next_attempt=attempt, exc=exc)
            elif attempt >= self.consumer.max_attempts:
                reason = DeadLetterReason.RETRIES_EXHAUSTED
                await self._dead_letter(message, reason, exc, event=event)
            else:
                await self._retry(message, attempt, next_attempt=attempt + 1, exc=exc)

    async def _retry(
        self, message: AbstractIncomingMessage, attempt: int, *, next_attempt: int, exc: Exception
    ) -> None:
        queue, tier = self.queues.retry_for(attempt)
        forwarded = self._failure_headers(message, exc)
        forwarded.pop(headers.REASON, None)
        forwarded[headers.ATTEMPT] = next_attempt
        log.warning("handler failed; retrying", tier=tier, exc_info=exc)
        if await self._forward(message, forwarded, queue):
            RETRIED.labels(self.consumer.name, tier).inc()

    async def _dead_letter(
        self,
        message: AbstractIncomingMessage,
        reason: DeadLetterReason,
        exc: BaseException,
        *,
        event: Event | None,
    ) -> None:
        forwarded = self._failure_headers(message, exc)
        forwarded[headers.REASON] = reason.value
        forwarded[headers.DEAD_AT] = headers.now_iso()
        if event is not None:
            forwarded.setdefault(headers.TENANT, str(event.tenant_id))
        log.error("dead-lettered", reason=reason.value, exc_info=exc)
        if await self._forward(message, forwarded, self.queues.dead):
            DEAD_LETTERED.labels(self.consumer.name, reason.value).inc()

    def _failure_headers(
        self, message: AbstractIncomingMessage, exc: BaseException
    ) -> dict[str, Any]:
        forwarded = headers.own_headers(message.headers)
        forwarded[headers.CONSUMER] = self.consumer.name
        forwarded[headers.ROUTING_KEY] = headers.original_routing_key(message, message.routing_key)
        forwarded.setdefault(headers.FIRST_FAILURE, headers.now_iso())
        forwarded[headers.ERROR] = headers.short_traceback(exc)
        return forwarded

    async def _forward(
        self, message: AbstractIncomingMessage, forwarded: dict[str, Any], queue: str
    ) -> bool:
        """Copy the delivery to ``queue`` (confirmed), then ack it; requeue it if the copy
        could not be made, so it is never lost."""
        try:
            await self.publisher.send_to_queue(
                headers.copy_message(message, forwarded), queue=queue
            )
        except Exception as exc:
            log.error("could not move delivery; requeueing it", queue=queue, error=repr(exc))
            await self._settle(functools.partial(message.nack, requeue=True), "nack")
            return False
        await self._settle(message.ack, "ack")
        return True

    async def _settle(self, settle: Callable[[], Awaitable[None]], what: Settlement) -> None:
        try:
            await settle()
        except Exception as exc:
            # The channel died with the delivery: the broker redelivers it, the inbox absorbs it.
            log.info(f"{what} lost with the channel; the broker will redeliver", error=repr(exc))
