"""Outbound delivery: send each due message once, through its channel's provider.

A message is claimed with ``FOR UPDATE SKIP LOCKED`` inside the tenant's transaction and the
lock is held while the provider is called, so two dispatchers never send the same row; the
message id is the send's idempotency key. A pending auto-reply is dropped when staff answered
or took the conversation over after it was drafted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import structlog

from domain.channels import ChannelRoute
from domain.events import DeliveryStatus, EscalationRequested, Event, Provider
from persistence.models.conversations import Conversation, Message
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.providers.base import PermanentSendError, RetryableSendError, Sender

log = structlog.get_logger(__name__)

RouteLookup = Callable[[UUID], Awaitable[ChannelRoute | None]]
# Waits between send attempts; after the last one the message is failed and staff alerted.
RETRY_BACKOFF = (timedelta(seconds=10), timedelta(seconds=60), timedelta(minutes=5))


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # sent | retry | failed | cancelled | skipped
    detail: str = ""


class OutboundDispatcher:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        senders: Mapping[Provider, Sender],
        routes: RouteLookup,
        clock: Callable[[], datetime],
        publish: Callable[[list[Event]], Awaitable[None]] | None = None,
        concurrency: int = 16,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = senders
        self._routes = routes
        self._clock = clock
        self._publish = publish
        self._slots = asyncio.Semaphore(concurrency)

    async def dispatch_due(self, *, batch: int = 100) -> list[Outcome]:
        """Send what is due now; returns one outcome per message looked at."""
        async with self._uow_factory.system() as system:
            due = await system.due_outbound(batch)
        return list(await asyncio.gather(*(self._guarded(d.tenant_id, d.message_id) for d in due)))

    async def _guarded(self, tenant_id: UUID, message_id: UUID) -> Outcome:
        async with self._slots:
            try:
                return await self.dispatch_one(tenant_id=tenant_id, message_id=message_id)
            except Exception as exc:  # one message's trouble must not stop the sweep
                log.exception(
                    "dispatch failed", tenant_id=str(tenant_id), message_id=str(message_id)
                )
                return Outcome("skipped", repr(exc))

    async def dispatch_one(self, *, tenant_id: UUID, message_id: UUID) -> Outcome:
        async with self._uow_factory(tenant_id) as uow:
            message = await uow.messages.claim_due(message_id=message_id)
            if message is None:  # sent, cancelled or claimed by another dispatcher meanwhile
                return Outcome("skipped", "not due")
            outcome = await self._deliver(uow, message)
            await uow.commit()
        if uow.emitted and self._publish is not None:
            await self._publish(list(uow.emitted))
            await self._uow_factory.mark_published(
                tenant_id=tenant_id, event_ids=[e.event_id for e in uow.emitted]
            )
        return outcome

    async def _deliver(self, uow: UnitOfWork, message: Message) -> Outcome:
        now = self._clock()
        conversation = await uow.conversations.get(conversation_id=message.conversation_id)
        assert conversation is not None
        if message.sender_type == "bot":
            if conversation.human_takeover:
                await uow.messages.cancel(
                    message_id=message.id, reason="conversation taken over by staff"
                )
                return Outcome("cancelled", "human takeover")
            if await uow.messages.staff_replied_since(
                conversation_id=conversation.id, since=message.created_at
            ):
                await uow.messages.cancel(message_id=message.id, reason="staff replied first")
                return Outcome("cancelled", "staff replied")
        channel = await uow.channels.get(channel_id=message.channel_id)
        route = await self._routes(channel.public_id) if channel else None
        if route is None or not route.enabled:
            return await self._fail(uow, message, conversation, "channel missing or disabled")
        to = await uow.guests.handle_for(guest_id=conversation.guest_id, kind=route.provider.value)
        if to is None:
            return await self._fail(
                uow, message, conversation, "guest has no handle on this channel"
            )
        try:
            result = await self._senders[route.provider].send(
                route=route, to=to, text=message.content or "", idempotency_key=str(message.id)
            )
        except RetryableSendError as exc:
            attempt = message.attempts
            if attempt >= len(RETRY_BACKOFF):
                return await self._fail(uow, message, conversation, str(exc))
            wait = RETRY_BACKOFF[attempt]
            if exc.retry_after:
                wait = max(wait, timedelta(seconds=exc.retry_after))
            await uow.messages.defer(message_id=message.id, until=now + wait, error=str(exc))
            return Outcome("retry", str(exc))
        except PermanentSendError as exc:
            return await self._fail(uow, message, conversation, str(exc))
        await uow.messages.update_status(
            message_id=message.id,
            status=DeliveryStatus.SENT,
            at=now,
            provider_message_id=result.provider_message_id,
        )
        await uow.conversations.record_response(conversation_id=conversation.id, at=now)
        await uow.comms_events.add(
            channel_id=message.channel_id,
            message_id=message.id,
            provider=route.provider.value,
            direction="outbound",
            kind="send",
            provider_message_id=result.provider_message_id,
            payload={"to": to},
        )
        return Outcome("sent", result.provider_message_id)

    async def _fail(
        self, uow: UnitOfWork, message: Message, conversation: Conversation, error: str
    ) -> Outcome:
        await uow.messages.update_status(
            message_id=message.id, status=DeliveryStatus.FAILED, at=self._clock(), error=error
        )
        uow.emit(
            EscalationRequested(
                tenant_id=uow.tenant_id,
                conversation_id=conversation.id,
                message_id=message.id,
                reason="delivery_failed",
                detail=error,
            )
        )
        return Outcome("failed", error)
