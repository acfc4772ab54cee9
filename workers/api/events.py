"""Live events for the inbox: ``GET /api/v1/events`` as Server-Sent Events (``conversations.read``).

The API process consumes the events exchange through its own exclusive, auto-deleted queue
(``LiveEvents``), so the pipeline's queues never wait for a browser. Each event is matched to
its conversation (and so to the conversation's assignee and team) once, kept in a bounded
per-tenant ring buffer, and offered to every stream of that tenant whose caller may see the
conversation (``domain.inbox``): a new guest message, its sentiment score, an escalation
(notification raised), a delivery status, and every inbox action (reply, status, assignment,
takeover, priority, tag, note, acknowledgement).

Each stream has a bounded buffer: a reader too slow to keep up is sent ``event: overflow`` with
the reason and closed (it reconnects and resumes). ``Last-Event-ID`` resumes a stream from the
ring buffer; an id the buffer no longer holds (or from before the process started) gets
``event: reset``: reload the inbox, then follow the stream. A comment line every
``heartbeat`` seconds keeps proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

import aio_pika
import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractRobustConnection
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from domain.events import (
    ConversationUpdated,
    DeliveryStatusReceived,
    EscalationRequested,
    MessageAccepted,
    MessageScored,
    NotificationAcknowledged,
    decode,
)
from domain.inbox import Scope, can_see
from persistence.uow import UnitOfWorkFactory
from workers.api.conversations import caller_scope
from workers.api.problems import Problem
from workers.api.security import Context, require

log = structlog.get_logger(__name__)
router = APIRouter(tags=["inbox"])
Read = Annotated[Context, Depends(require("conversations.read"))]

LIVE_TYPES = (
    MessageAccepted,
    MessageScored,
    EscalationRequested,
    DeliveryStatusReceived,
    NotificationAcknowledged,
    ConversationUpdated,
)
# Fields no browser needs: the providers' payloads as received.
PRIVATE_FIELDS = {"raw"}


@dataclass(frozen=True, slots=True)
class LiveEvent:
    seq: int
    kind: str
    conversation_id: UUID
    assignee_id: UUID | None
    team_id: UUID | None
    data: str  # the JSON sent

    def visible_to(self, scope: Scope) -> bool:
        return can_see(scope, assignee_id=self.assignee_id, team_id=self.team_id)


@dataclass(eq=False)
class TenantLog:
    """A tenant's recent live events; ``epoch`` names this log, so an id from a log that has
    since been dropped (or from another process) is recognised as gone."""

    buffer: deque[LiveEvent]
    epoch: str = field(default_factory=lambda: secrets.token_hex(4))
    seq: int = 0
    streams: set[Stream] = field(default_factory=set)
    idle_since: float | None = None  # when its last stream closed

    def event_id(self, event: LiveEvent) -> str:
        return f"{self.epoch}:{event.seq}"


@dataclass(eq=False)
class Stream:
    """One signed-in reader's bounded buffer; ``closed`` says why it must end."""

    tenant_id: UUID
    scope: Scope
    queue: asyncio.Queue[LiveEvent]
    closed: str | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, event: LiveEvent) -> None:
        if self.closed or not event.visible_to(self.scope):
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.closed = f"the reader fell more than {self.queue.maxsize} events behind"
            self.wake.set()


class LiveEvents:
    """The API process's view of the events exchange, fanned out to its streams."""

    def __init__(
        self,
        *,
        amqp_url: str,
        exchange: str,
        uow_factory: UnitOfWorkFactory,
        buffer_size: int = 1000,
        stream_size: int = 256,
        heartbeat: float = 15.0,
        resume_window: float = 600.0,
    ) -> None:
        self._amqp_url = amqp_url
        self._exchange = exchange
        self._uow_factory = uow_factory
        self._buffer_size = buffer_size
        self.stream_size = stream_size
        self.heartbeat = heartbeat
        self._resume_window = resume_window
        self._logs: dict[UUID, TenantLog] = {}
        self._connection: AbstractRobustConnection | None = None
        self._started = asyncio.Lock()

    async def start(self) -> None:
        """Bind an exclusive queue to the live events' routing keys (once)."""
        async with self._started:
            if self._connection is not None:
                return
            connection = await aio_pika.connect_robust(self._amqp_url)
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=64)
            exchange = await channel.declare_exchange(
                self._exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            # Bounded: while this process lags, the oldest live events are dropped, never the
            # pipeline's (its queues are its own).
            queue = await channel.declare_queue(
                exclusive=True,
                auto_delete=True,
                arguments={"x-max-length": 10_000, "x-overflow": "drop-head"},
            )
            for kind in LIVE_TYPES:
                await queue.bind(exchange, kind.routing_key)
            await queue.consume(self._on_message)
            self._connection = connection

    async def close(self) -> None:
        for log_ in self._logs.values():
            for stream in log_.streams:
                stream.closed = "the server is shutting down"
                stream.wake.set()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    def open(
        self, tenant_id: UUID, scope: Scope, last_event_id: str | None
    ) -> tuple[TenantLog, Stream, list[LiveEvent] | None]:
        """Register a stream and the buffered events it missed after ``last_event_id`` (None:
        some are gone, the reader must reload). Registration and the replay snapshot happen
        together (no await between them), so no event falls between the two."""
        log_ = self._logs.get(tenant_id)
        if log_ is None:
            log_ = self._logs[tenant_id] = TenantLog(deque(maxlen=self._buffer_size))
        stream = Stream(tenant_id, scope, asyncio.Queue(maxsize=self.stream_size))
        log_.streams.add(stream)
        log_.idle_since = None
        if last_event_id is None:
            return log_, stream, []
        epoch, _, number = last_event_id.partition(":")
        if epoch != log_.epoch or not number.isdigit() or int(number) > log_.seq:
            return log_, stream, None
        after = int(number)
        buffered = log_.buffer
        if after < log_.seq and (not buffered or buffered[0].seq > after + 1):
            return log_, stream, None  # some of what came after it has been dropped
        return log_, stream, [e for e in buffered if e.seq > after and e.visible_to(scope)]

    def release(self, stream: Stream) -> None:
        log_ = self._logs.get(stream.tenant_id)
        if log_ is not None:
            log_.streams.discard(stream)
            if not log_.streams:
                log_.idle_since = time.monotonic()

    def _log_of(self, tenant_id: UUID) -> TenantLog | None:
        """The tenant's log while someone follows it, or followed it within the resume window."""
        log_ = self._logs.get(tenant_id)
        if log_ is None:
            return None
        if log_.idle_since is not None and time.monotonic() - log_.idle_since > self._resume_window:
            del self._logs[tenant_id]
            return None
        return log_

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        async with message.process(ignore_processed=True):
            try:
                event = decode(message.body)
            except ValidationError:
                return  # a type this process does not know (a newer release): not for streams
            if not isinstance(event, LIVE_TYPES) or self._log_of(event.tenant_id) is None:
                return
            try:
                await self.deliver(event)
            except Exception as exc:  # a live view is best effort: never requeue forever
                log.warning("live event dropped", error=repr(exc), type=event.type)

    async def deliver(self, event: Any) -> LiveEvent | None:
        """Match an event to its conversation, buffer it and offer it to the tenant's streams."""
        located = await self._locate(event)
        log_ = self._log_of(event.tenant_id)
        if located is None or log_ is None:
            return None
        conversation_id, assignee_id, team_id, extra = located
        log_.seq += 1
        payload = {
            **event.model_dump(mode="json", exclude=PRIVATE_FIELDS),
            **extra,
            "conversation_id": str(conversation_id),
        }
        live = LiveEvent(
            seq=log_.seq,
            kind=event.type,
            conversation_id=conversation_id,
            assignee_id=assignee_id,
            team_id=team_id,
            data=json.dumps(payload, separators=(",", ":")),
        )
        log_.buffer.append(live)
        for stream in list(log_.streams):
            stream.offer(live)
        return live

    async def _locate(
        self, event: Any
    ) -> tuple[UUID, UUID | None, UUID | None, dict[str, Any]] | None:
        async with self._uow_factory(event.tenant_id) as uow:
            extra: dict[str, Any] = {}
            conversation_id: UUID | None = getattr(event, "conversation_id", None)
            if isinstance(event, DeliveryStatusReceived):
                message = await uow.messages.find_by_provider_id(
                    channel_id=event.channel_id, provider_message_id=event.provider_message_id
                )
                if message is None:
                    return None
                conversation_id = message.conversation_id
                extra = {"message_id": str(message.id), "message_status": message.status}
            elif isinstance(event, NotificationAcknowledged):
                notification = await uow.notifications.get(notification_id=event.notification_id)
                conversation_id = notification.conversation_id if notification else None
            if conversation_id is None:
                return None
            conversation = await uow.conversations.get(conversation_id=conversation_id)
            if conversation is None:
                return None
            return conversation.id, conversation.assignee_id, conversation.team_id, extra


def live_events(request: Request) -> LiveEvents:
    """The process's ``LiveEvents`` (made on first use, on the API's broker and exchange)."""
    hub: LiveEvents | None = getattr(request.app.state, "live_events", None)
    if hub is None:
        found = request.app.state.services
        hub = LiveEvents(
            amqp_url=found.settings.amqp_url,
            exchange=found.settings.exchange,
            uow_factory=found.uow_factory,
        )
        request.app.state.live_events = hub
    return hub


def _frame(event: str, data: str, event_id: str | None = None) -> bytes:
    lines = [f"id: {event_id}"] if event_id else []
    lines += [f"event: {event}", f"data: {data}", "", ""]
    return "\n".join(lines).encode()


async def follow(
    hub: LiveEvents,
    log_: TenantLog,
    stream: Stream,
    replay: list[LiveEvent] | None,
    disconnected: Callable[[], Awaitable[bool]],
) -> AsyncIterator[bytes]:
    """The stream's bytes: the replay, then live events and heartbeats until the reader
    leaves or falls too far behind."""
    try:
        yield b"retry: 3000\n: frontdesk live events\n\n"
        if replay is None:
            reason = json.dumps({"reason": "the events after Last-Event-ID are gone: reload"})
            yield _frame("reset", reason)
            replay = []
        last = 0
        for event in replay:
            last = event.seq
            yield _frame(event.kind, event.data, log_.event_id(event))
        while True:
            if stream.closed:
                yield _frame("overflow", json.dumps({"reason": stream.closed}))
                return
            getter = asyncio.ensure_future(stream.queue.get())
            woken = asyncio.ensure_future(stream.wake.wait())
            done, _ = await asyncio.wait(
                {getter, woken}, timeout=hub.heartbeat, return_when=asyncio.FIRST_COMPLETED
            )
            woken.cancel()
            if getter not in done:
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter
                if not stream.closed:
                    if await disconnected():
                        return
                    yield b": heartbeat\n\n"
                continue
            event = getter.result()
            if event.seq > last:
                yield _frame(event.kind, event.data, log_.event_id(event))
    finally:
        hub.release(stream)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 406: {"description": "not SSE"}},
)
async def events(
    request: Request,
    context: Read,
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)] = None,
    resume: Annotated[
        str | None, Query(max_length=64, description="Last-Event-ID, for clients without headers")
    ] = None,
) -> StreamingResponse:
    """The caller's live inbox events as Server-Sent Events (``Accept: text/event-stream``)."""
    if "text/event-stream" not in (accept or ""):
        raise Problem(406, "this is a Server-Sent Events stream: Accept: text/event-stream")
    scope = await caller_scope(context)
    hub = live_events(request)
    try:
        await hub.start()
    except Exception as exc:  # the broker is down or unreachable: the inbox still works
        log.warning("live events unavailable", error=repr(exc))
        raise Problem(
            503, "live events are unavailable: try again shortly", headers={"Retry-After": "5"}
        ) from None
    # The stream outlives the request's transaction: give its connection back now.
    await context.uow.rollback()
    await context.uow.session.close()
    log_, stream, replay = hub.open(context.principal.tenant_id, scope, last_event_id or resume)
    return StreamingResponse(
        follow(hub, log_, stream, replay, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
