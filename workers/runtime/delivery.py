"""Handling one delivery: decode, apply exactly once, then ack, retry or dead-letter.

The order is what makes an at-least-once broker give exactly-once effects:

1. the inbox row, the handler's rows and its outbox rows commit in one transaction;
2. the events it emitted are published (confirmed) and marked published; a failure here loses
   nothing, because the outbox relay publishes whatever stayed unmarked;
3. only then is the delivery acked. A crash anywhere before the ack means a redelivery, which
   finds its inbox row and is acked without effect.

A failed delivery is copied to a retry tier or to the dead-letter queue, confirmed, before the
original is acked, so a crash between the two leaves a duplicate (absorbed by the inbox) and
never a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError
from structlog.contextvars import bound_contextvars

from domain.events import Event, decode
from persistence.retry import is_connection_error
from workers.logging import get_logger
from workers.runtime import headers as h
from workers.runtime.classify import (
    DatabaseUnavailable,
    is_connection_failure,
    is_data_error,
    is_transaction_conflict,
    is_unknown_tenant,
)
from workers.runtime.consumer import Consumer
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
    from persistence.uow import UnitOfWorkFactory

log = get_logger("frontdesk.runtime")


class Undeliverable(Exception):
    """The body cannot become an event of this consumer; no retry can change that."""

    def __init__(self, reason: str, detail: str) -> None:
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


class _EventFailed(Exception):
    """The handler of the batch's ``index``-th event raised ``error``."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(f"event {index} of the batch failed: {error!r}")
        self.index = index
        self.error = error


class DeliveryProcessor:
    """The callback a consumer's queue delivers to."""

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

    async def __call__(self, message: AbstractIncomingMessage) -> None:
        attempt = h.attempt_of(message.headers)
        gauge = IN_FLIGHT.labels(self.consumer.name)
        gauge.inc()
        try:
            with bound_contextvars(consumer=self.consumer.name, attempt=attempt):
                await self._process(message, attempt)
        finally:
            gauge.dec()

    async def _process(self, message: AbstractIncomingMessage, attempt: int) -> None:
        try:
            event = decode_for(self.consumer, message.body)
        except Undeliverable as exc:
            await self._dead_letter(message, exc.reason, exc, event=None)
            return
        with bound_contextvars(tenant_id=str(event.tenant_id), event_id=str(event.event_id)):
            started = time.perf_counter()
            try:
                emitted = await self._apply(event)
            except Exception as exc:
                await self._route_failure(message, attempt, exc, event)
            else:
                HANDLER_SECONDS.labels(self.consumer.name).observe(time.perf_counter() - started)
                if emitted is None:
                    DUPLICATES.labels(self.consumer.name).inc()
                else:
                    PROCESSED.labels(self.consumer.name).inc()
                    await self._publish(emitted)
                await self._settle(message.ack, "ack")

    async def process_batch(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        """Apply several deliveries in one transaction, then publish, then ack each.

        The common case (every handler succeeds) costs one BEGIN/COMMIT for the batch. If any
        handler raises, the whole transaction rolls back and each delivery goes through
        ``__call__`` on its own: one failing event never takes its batch-mates' retries or
        dead letters with it, and the inbox keeps effects exactly-once either way.
        """
        if len(messages) == 1:
            await self(messages[0])
            return
        BATCH_SIZE.labels(self.consumer.name).observe(len(messages))
        gauge = IN_FLIGHT.labels(self.consumer.name)
        gauge.inc(len(messages))
        try:
            with bound_contextvars(consumer=self.consumer.name):
                await self._process_together(messages)
        finally:
            gauge.dec(len(messages))

    async def _process_together(self, messages: Sequence[AbstractIncomingMessage]) -> None:
        decoded: list[tuple[AbstractIncomingMessage, Event]] = []
        for message in messages:
            try:
                decoded.append((message, decode_for(self.consumer, message.body)))
            except Undeliverable as exc:
                with bound_contextvars(attempt=h.attempt_of(message.headers)):
                    await self._dead_letter(message, exc.reason, exc, event=None)
        if not decoded:
            return
        try:
            outcomes = await self._apply_together([event for _, event in decoded])
        except _EventFailed as failed:
            # Rolled back. The failed event has had its try for this attempt: it goes to a
            # retry tier or the dead letters now; the others are applied one by one. A lost
            # race (a deadlock between two batches) is nobody's fault: all go one by one.
            BATCH_FALLBACKS.labels(self.consumer.name).inc()
            if is_transaction_conflict(failed.error):
                log.info("batch lost a race; applying its events one by one", error=repr(failed))
                failed.index = -1
            for index, (message, event) in enumerate(decoded):
                if index == failed.index:
                    attempt = h.attempt_of(message.headers)
                    with bound_contextvars(
                        attempt=attempt,
                        tenant_id=str(event.tenant_id),
                        event_id=str(event.event_id),
                    ):
                        await self._route_failure(message, attempt, failed.error, event)
                else:
                    await self(message)
            return
        except Exception as exc:  # beginning or committing the batch's transaction
            BATCH_FALLBACKS.labels(self.consumer.name).inc()
            log.info("batch rolled back; applying its events one by one", error=repr(exc))
            for message, _ in decoded:
                await self(message)
            return
        await self._publish([e for outcome in outcomes if outcome for e in outcome])
        for (message, _), outcome in zip(decoded, outcomes, strict=True):
            counter = DUPLICATES if outcome is None else PROCESSED
            counter.labels(self.consumer.name).inc()
            await self._settle(message.ack, "ack")

    async def _apply_together(self, events: Sequence[Event]) -> list[list[Event] | None]:
        """Each event's handler in turn, in one transaction rebound to each event's tenant;
        per event, what it emitted, or None when the inbox says it already ran."""
        outcomes: list[list[Event] | None] = []
        if self.consumer.prepare is not None:  # no transaction open (see ``Consumer``)
            prepared = await asyncio.gather(
                *(self.consumer.prepare(event) for event in events), return_exceptions=True
            )
            for index, result in enumerate(prepared):
                if isinstance(result, Exception):
                    raise _EventFailed(index, result) from result
                if isinstance(result, BaseException):
                    raise result
        async with self.uow_factory(events[0].tenant_id) as uow:
            for event in events:
                with bound_contextvars(
                    tenant_id=str(event.tenant_id), event_id=str(event.event_id)
                ):
                    started = time.perf_counter()
                    if event.tenant_id != uow.tenant_id:
                        await uow.rebind(event.tenant_id)
                    if not await uow.inbox.record(
                        consumer=self.consumer.name, event_id=event.event_id
                    ):
                        outcomes.append(None)
                        continue
                    first = len(uow.emitted)
                    try:
                        await self.consumer.handle(event, uow)
                        await uow.flush()
                    except Exception as exc:
                        raise _EventFailed(len(outcomes), exc) from exc
                    outcomes.append(uow.emitted[first:])
                    HANDLER_SECONDS.labels(self.consumer.name).observe(
                        time.perf_counter() - started
                    )
            await uow.commit()
        return outcomes

    async def _apply(self, event: Event) -> list[Event] | None:
        """Run the handler once per event; None when the inbox says it already ran."""
        if self.consumer.prepare is not None:
            await self.consumer.prepare(event)  # no transaction open (see ``Consumer``)
        async with contextlib.AsyncExitStack() as stack:
            try:
                uow = await stack.enter_async_context(self.uow_factory(event.tenant_id))
            except Exception as exc:
                if is_connection_error(exc):
                    raise DatabaseUnavailable(str(exc) or type(exc).__name__) from exc
                raise
            if not await uow.inbox.record(consumer=self.consumer.name, event_id=event.event_id):
                return None
            await self.consumer.handle(event, uow)
            emitted = list(uow.emitted)
            await uow.commit()
        return emitted

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

    async def _route_failure(
        self, message: AbstractIncomingMessage, attempt: int, exc: Exception, event: Event
    ) -> None:
        if isinstance(exc, PermanentError):
            await self._dead_letter(message, DeadLetterReason.PERMANENT, exc, event=event)
        elif is_data_error(exc):
            await self._dead_letter(message, DeadLetterReason.INVALID_DATA, exc, event=event)
        else:
            await self._failed(message, attempt, exc, event)

    async def _failed(
        self, message: AbstractIncomingMessage, attempt: int, exc: Exception, event: Event
    ) -> None:
        if is_unknown_tenant(exc):
            await self._dead_letter(message, DeadLetterReason.UNKNOWN_TENANT, exc, event=event)
        elif is_connection_failure(exc):
            # The database being away says nothing about the event: keep its attempts.
            await self._retry(message, attempt, next_attempt=attempt, exc=exc)
        elif attempt >= self.consumer.max_attempts:
            await self._dead_letter(message, DeadLetterReason.RETRIES_EXHAUSTED, exc, event=event)
        else:
            await self._retry(message, attempt, next_attempt=attempt + 1, exc=exc)

    async def _retry(
        self, message: AbstractIncomingMessage, attempt: int, *, next_attempt: int, exc: Exception
    ) -> None:
        queue, tier = self.queues.retry_for(attempt)
        headers = self._failure_headers(message, exc)
        headers.pop(h.REASON, None)
        headers[h.ATTEMPT] = next_attempt
        log.warning("handler failed; retrying", tier=tier, exc_info=exc)
        if await self._forward(message, headers, queue):
            RETRIED.labels(self.consumer.name, tier).inc()

    async def _dead_letter(
        self,
        message: AbstractIncomingMessage,
        reason: str,
        exc: BaseException,
        *,
        event: Event | None,
    ) -> None:
        headers = self._failure_headers(message, exc)
        headers[h.REASON] = reason
        headers[h.DEAD_AT] = h.now_iso()
        if event is not None:
            headers.setdefault(h.TENANT, str(event.tenant_id))
        log.error("dead-lettered", reason=reason, exc_info=exc)
        if await self._forward(message, headers, self.queues.dead):
            DEAD_LETTERED.labels(self.consumer.name, reason).inc()

    def _failure_headers(
        self, message: AbstractIncomingMessage, exc: BaseException
    ) -> dict[str, Any]:
        headers = h.own_headers(message.headers)
        headers[h.CONSUMER] = self.consumer.name
        headers[h.ROUTING_KEY] = h.original_routing_key(message, message.routing_key)
        headers.setdefault(h.FIRST_FAILURE, h.now_iso())
        headers[h.ERROR] = h.short_traceback(exc)
        return headers

    async def _forward(
        self, message: AbstractIncomingMessage, headers: dict[str, Any], queue: str
    ) -> bool:
        """Copy the delivery to ``queue`` (confirmed), then ack it; requeue it if the copy
        could not be made, so it is never lost."""
        try:
            await self.publisher.send_to_queue(h.copy_message(message, headers), queue=queue)
        except Exception as exc:
            log.error("could not move delivery; requeueing it", queue=queue, error=repr(exc))
            await self._settle(lambda: message.nack(requeue=True), "nack")
            return False
        await self._settle(message.ack, "ack")
        return True

    async def _settle(self, settle: Callable[[], Awaitable[None]], what: str) -> None:
        try:
            await settle()
        except Exception as exc:
            # The channel died with the delivery: the broker redelivers it, the inbox absorbs it.
            log.info(f"{what} lost with the channel; the broker will redeliver", error=repr(exc))
