"""Outbound delivery: each due message reaches the guest at most once.

The send protocol, per message:

1. **claim** — one transaction locks the due ``pending`` row (``FOR UPDATE SKIP LOCKED``),
   drops a drafted auto-reply that staff answered or took over meanwhile (``cancelled``), fails
   one that cannot go anywhere (no channel, no handle: staff alerted), and otherwise marks it
   ``sending`` with a fresh attempt id and start time. It commits before the provider is called.
2. **send** — the provider is called with no transaction open, keyed by the message id.
3. **outcome** — a second transaction settles the attempt, guarded by its id: ``sent`` with the
   provider's id (left out, with the clash noted, when it already names another message, so
   recording cannot fail on it); ``pending`` again later when the provider certainly did not
   take it; ``failed`` and staff alerted when it refused. A lost connection is retried; when the
   outcome still cannot be written, or the process dies, the row stays ``sending``.
4. **recovery** — a row ``sending`` for longer than any send takes is never sent again blindly.
   Where the provider lists what it sent (``SentLookup``: Green API) it is looked up and, when
   found, recorded ``sent``; otherwise it becomes ``uncertain`` and staff are alerted once
   (``delivery_uncertain``). A send whose answer was lost (``UncertainSendError``) goes the
   same way: at once for a provider that cannot be asked, after the lease for one that can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID, uuid4

import structlog

from domain.channels import ChannelRoute
from domain.events import DeliveryStatus, EscalationRequested, Event, Provider
from persistence.models.conversations import Message
from persistence.retry import connection_retrying
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.providers.base import (
    PermanentSendError,
    ReplyTo,
    RetryableSendError,
    Sender,
    SendError,
    SentLookup,
    UncertainSendError,
)

log = structlog.get_logger(__name__)

RouteLookup = Callable[[UUID], Awaitable[ChannelRoute | None]]
# A test's stand-in for a crash: called with "claimed" (the attempt is committed, the provider
# not yet called) and "sent" (the provider answered, the outcome is not yet recorded).
Checkpoint = Callable[[str, UUID], Awaitable[None]]
# Waits between send attempts; after the last one the message is failed and staff alerted.
RETRY_BACKOFF = (timedelta(seconds=10), timedelta(seconds=60), timedelta(minutes=5))
# Longer than any send takes (HTTP retries about 45 s, SMTP 30 s) and than Green API's journal
# lags (up to 2 min): a row ``sending`` for longer was interrupted.
SEND_LEASE = timedelta(minutes=5)
# Tries to write an outcome while connections are being lost (each also retries connecting).
OUTCOME_TRIES = 4


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # sent | retry | failed | cancelled | uncertain | sending | skipped
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Attempt:
    """A send committed as ``sending``: everything the provider call and its outcome need."""

    tenant_id: UUID
    message_id: UUID
    attempt_id: UUID
    conversation_id: UUID
    channel_id: UUID
    route: ChannelRoute
    to: str
    text: str
    earlier_attempts: int
    reply_to: ReplyTo | None


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
        lease: timedelta = SEND_LEASE,
        checkpoint: Checkpoint | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = senders
        self._routes = routes
        self._clock = clock
        self._publish = publish
        self._slots = asyncio.Semaphore(concurrency)
        self._lease = lease
        self._checkpoint = checkpoint

    async def dispatch_due(self, *, batch: int = 100) -> list[Outcome]:
        """Send what is due now; returns one outcome per message looked at."""
        async with self._uow_factory.system() as system:
            due = await system.due_outbound(batch)
        return list(
            await asyncio.gather(
                *(
                    self._guarded(self.dispatch_one(tenant_id=d.tenant_id, message_id=d.message_id))
                    for d in due
                )
            )
        )

    async def recover_stale(self, *, batch: int = 100) -> list[Outcome]:
        """Settle the sends left ``sending`` longer than the lease (see the module docstring)."""
        async with self._uow_factory.system() as system:
            stale = await system.stale_outbound(
                started_before=self._clock() - self._lease, batch=batch
            )
        return list(
            await asyncio.gather(
                *(
                    self._guarded(
                        self.recover_one(
                            tenant_id=s.tenant_id, message_id=s.message_id, attempt_id=s.attempt_id
                        )
                    )
                    for s in stale
                )
            )
        )

    async def _guarded(self, work: Awaitable[Outcome]) -> Outcome:
        async with self._slots:
            try:
                return await work
            except Exception as exc:  # one message's trouble must not stop the sweep
                log.exception("dispatch failed")
                return Outcome("skipped", repr(exc))

    async def dispatch_one(self, *, tenant_id: UUID, message_id: UUID) -> Outcome:
        claimed = await self._claim(tenant_id, message_id)
        if isinstance(claimed, Outcome):
            return claimed
        attempt = claimed
        await self._reached("claimed", attempt)
        sender = self._senders[attempt.route.provider]
        try:
            result = await sender.send(
                route=attempt.route,
                to=attempt.to,
                text=attempt.text,
                idempotency_key=str(attempt.message_id),
                reply_to=attempt.reply_to,
            )
        except UncertainSendError as exc:
            return await self._answer_lost(attempt, sender, str(exc))
        except RetryableSendError as exc:
            return await self._not_taken(attempt, exc)
        except PermanentSendError as exc:
            return await self._refused(attempt, str(exc))
        # From here the guest may have the message: whatever fails, the row stays ``sending``.
        await self._reached("sent", attempt)
        return await self._settle(
            tenant_id,
            lambda uow: self._record_sent(
                uow,
                attempt.message_id,
                attempt.attempt_id,
                provider_message_id=result.provider_message_id,
                to=attempt.to,
                route=attempt.route,
                conversation_id=attempt.conversation_id,
            ),
        )

    async def recover_one(self, *, tenant_id: UUID, message_id: UUID, attempt_id: UUID) -> Outcome:
        """Settle one interrupted send: found at the provider -> ``sent``; else ``uncertain``."""
        return await self._settle(
            tenant_id, lambda uow: self._reconcile(uow, message_id, attempt_id)
        )

    async def _reached(self, stage: str, attempt: Attempt) -> None:
        if self._checkpoint is not None:
            await self._checkpoint(stage, attempt.message_id)

    async def _claim(self, tenant_id: UUID, message_id: UUID) -> Attempt | Outcome:
        async with self._uow_factory(tenant_id) as uow:
            message = await uow.messages.claim_due(message_id=message_id)
            if message is None:  # sent, cancelled or claimed by another dispatcher meanwhile
                return Outcome("skipped", "not due")
            prepared = await self._prepare(uow, message)
            if isinstance(prepared, Attempt):
                await uow.messages.begin_send(
                    message_id=message.id, attempt_id=prepared.attempt_id, at=self._clock()
                )
            await uow.commit()
        await self._publish_emitted(uow)
        return prepared

    async def _prepare(self, uow: UnitOfWork, message: Message) -> Attempt | Outcome:
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
            return await self._fail_unsent(
                uow, message, conversation.id, "channel missing or disabled"
            )
        to = await uow.guests.handle_for(guest_id=conversation.guest_id, kind=route.provider.value)
        if to is None:
            return await self._fail_unsent(
                uow, message, conversation.id, "guest has no handle on this channel"
            )
        reply_to = None
        if route.provider is Provider.EMAIL:
            answered = await uow.messages.last_inbound(conversation_id=conversation.id)
            if answered is not None:
                reply_to = ReplyTo(
                    subject=answered.subject, message_id=answered.provider_message_id
                )
        return Attempt(
            tenant_id=uow.tenant_id,
            message_id=message.id,
            attempt_id=uuid4(),
            conversation_id=conversation.id,
            channel_id=message.channel_id,
            route=route,
            to=to,
            text=message.content or "",
            earlier_attempts=message.attempts,
            reply_to=reply_to,
        )

    async def _fail_unsent(
        self, uow: UnitOfWork, message: Message, conversation_id: UUID, error: str
    ) -> Outcome:
        """Fail a claimed message that cannot be handed to any provider."""
        await uow.messages.update_status(
            message_id=message.id, status=DeliveryStatus.FAILED, at=self._clock(), error=error
        )
        self._alert(uow, conversation_id, message.id, "delivery_failed", error)
        return Outcome("failed", error)

    async def _answer_lost(self, attempt: Attempt, sender: Sender, error: str) -> Outcome:
        if isinstance(sender, SentLookup):
            # The provider can be asked once its journal has caught up: the sweep will.
            log.warning(
                "send outcome unknown; reconciling after the lease",
                tenant_id=str(attempt.tenant_id),
                message_id=str(attempt.message_id),
                error=error,
            )
            return Outcome("sending", error)
        return await self._settle(
            attempt.tenant_id,
            lambda uow: self._give_up(
                uow, attempt.message_id, attempt.attempt_id, attempt.conversation_id, error
            ),
        )

    async def _not_taken(self, attempt: Attempt, exc: RetryableSendError) -> Outcome:
        if attempt.earlier_attempts >= len(RETRY_BACKOFF):
            return await self._refused(attempt, str(exc))
        wait = RETRY_BACKOFF[attempt.earlier_attempts]
        if exc.retry_after:
            wait = max(wait, timedelta(seconds=exc.retry_after))
        until = self._clock() + wait

        async def work(uow: UnitOfWork) -> Outcome:
            await uow.messages.record_unsent(
                message_id=attempt.message_id,
                attempt_id=attempt.attempt_id,
                until=until,
                error=str(exc),
            )
            return Outcome("retry", str(exc))

        return await self._settle(attempt.tenant_id, work)

    async def _refused(self, attempt: Attempt, error: str) -> Outcome:
        async def work(uow: UnitOfWork) -> Outcome:
            if await uow.messages.record_failed(
                message_id=attempt.message_id, attempt_id=attempt.attempt_id, error=error
            ):
                self._alert(
                    uow, attempt.conversation_id, attempt.message_id, "delivery_failed", error
                )
            return Outcome("failed", error)

        return await self._settle(attempt.tenant_id, work)

    async def _reconcile(self, uow: UnitOfWork, message_id: UUID, attempt_id: UUID) -> Outcome:
        message = await uow.messages.claim_sending(message_id=message_id, attempt_id=attempt_id)
        if message is None:
            return Outcome("skipped", "settled meanwhile")
        channel = await uow.channels.get(channel_id=message.channel_id)
        route = await self._routes(channel.public_id) if channel else None
        sender = self._senders.get(route.provider) if route else None
        conversation = await uow.conversations.get(conversation_id=message.conversation_id)
        assert conversation is not None
        if route is None or not isinstance(sender, SentLookup) or message.send_started_at is None:
            return await self._give_up(
                uow,
                message_id,
                attempt_id,
                conversation.id,
                "the send was interrupted and the provider cannot say whether the guest got it",
            )
        to = await uow.guests.handle_for(guest_id=conversation.guest_id, kind=route.provider.value)
        try:
            found = await sender.find_sent(
                route=route, to=to or "", text=message.content or "", since=message.send_started_at
            )
        except SendError as exc:
            return await self._give_up(
                uow,
                message_id,
                attempt_id,
                conversation.id,
                f"the send was interrupted and the provider could not be asked: {exc}",
            )
        for provider_message_id in found:
            known = await uow.messages.find_by_provider_id(
                channel_id=message.channel_id, provider_message_id=provider_message_id
            )
            if known is None:  # the provider sent it, and it is no other message of ours
                return await self._record_sent(
                    uow,
                    message_id,
                    attempt_id,
                    provider_message_id=provider_message_id,
                    to=to or "",
                    route=route,
                    conversation_id=conversation.id,
                )
        return await self._give_up(
            uow,
            message_id,
            attempt_id,
            conversation.id,
            "the send was interrupted and the provider lists no such message yet",
        )

    async def _record_sent(
        self,
        uow: UnitOfWork,
        message_id: UUID,
        attempt_id: UUID,
        *,
        provider_message_id: str,
        to: str,
        route: ChannelRoute,
        conversation_id: UUID,
    ) -> Outcome:
        now = self._clock()
        recorded = await uow.messages.record_sent(
            message_id=message_id,
            attempt_id=attempt_id,
            provider_message_id=provider_message_id,
            at=now,
        )
        if recorded is None:  # an earlier try of this transaction committed it
            return Outcome("sent", provider_message_id)
        await uow.conversations.record_response(conversation_id=conversation_id, at=now)
        await uow.comms_events.add(
            channel_id=route.channel_id,
            message_id=message_id,
            provider=route.provider.value,
            direction="outbound",
            kind="send",
            provider_message_id=recorded.provider_message_id,
            payload={"to": to},
        )
        return Outcome("sent", provider_message_id)

    async def _give_up(
        self,
        uow: UnitOfWork,
        message_id: UUID,
        attempt_id: UUID,
        conversation_id: UUID,
        error: str,
    ) -> Outcome:
        """Mark the send ``uncertain`` and alert staff, once: only the transition alerts."""
        if await uow.messages.record_uncertain(
            message_id=message_id, attempt_id=attempt_id, error=error
        ):
            self._alert(uow, conversation_id, message_id, "delivery_uncertain", error)
            log.warning(
                "send outcome uncertain", tenant_id=str(uow.tenant_id), message_id=str(message_id)
            )
        return Outcome("uncertain", error)

    def _alert(
        self,
        uow: UnitOfWork,
        conversation_id: UUID,
        message_id: UUID,
        reason: Literal["delivery_failed", "delivery_uncertain"],
        error: str,
    ) -> None:
        uow.emit(
            EscalationRequested(
                tenant_id=uow.tenant_id,
                conversation_id=conversation_id,
                message_id=message_id,
                reason=reason,
                detail=error,
            )
        )

    async def _settle(
        self, tenant_id: UUID, work: Callable[[UnitOfWork], Awaitable[Outcome]]
    ) -> Outcome:
        """Run ``work`` in its own transaction, again while connections are being lost; the
        outcome writes are guarded by the attempt id, so a retry after a commit whose answer
        was lost changes nothing."""
        outcome = Outcome("skipped", "not settled")
        async for retry in connection_retrying(OUTCOME_TRIES):
            with retry:
                async with self._uow_factory(tenant_id) as uow:
                    outcome = await work(uow)
                    await uow.commit()
                await self._publish_emitted(uow)
        return outcome

    async def _publish_emitted(self, uow: UnitOfWork) -> None:
        if not uow.emitted or self._publish is None:
            return
        try:
            await self._publish(list(uow.emitted))
            await self._uow_factory.mark_published(
                tenant_id=uow.tenant_id, event_ids=[e.event_id for e in uow.emitted]
            )
        except Exception:  # the events are in the outbox: the relay publishes them
            log.warning("publishing after a send failed; left to the relay", exc_info=True)
