"""Outbound delivery: each due message reaches the guest at most once.

The send protocol, per message:

1. **claim** — one transaction per tenant locks its due ``pending`` rows (``FOR UPDATE SKIP
   LOCKED``, one joined read), drops a drafted auto-reply that staff answered or took over
   meanwhile (``cancelled``), fails one that cannot go anywhere (no channel, no handle: staff
   alerted), leaves ``pending`` those over their channel's send limit (``throttled``,
   ``workers.dispatch.throttle``), and otherwise marks each ``sending`` with its own fresh
   attempt id and start time. It commits before any provider is called.
2. **send** — the provider is called with no transaction open, keyed by the message id, as
   soon as the claim has committed (each message of the claim on its own).
3. **outcome** — a second transaction per message settles its attempt, guarded by its id
   (``workers.dispatch.recovery``): ``sent`` with the provider's id (left out, with the clash
   noted, when it already names another message, so recording cannot fail on it); ``pending``
   again later when the provider certainly did not take it; ``failed`` and staff alerted when
   it refused. A lost connection is retried; when the outcome still cannot be written, or the
   process dies, the row stays ``sending``.
4. **recovery** — a row ``sending`` for longer than any send takes is never sent again blindly.
   Where the provider lists what it sent (``SentLookup``: Green API) it is looked up and, when
   found, recorded ``sent``; otherwise it becomes ``uncertain`` and staff are alerted once
   (``delivery_uncertain``). A send whose answer was lost (``UncertainSendError``) goes the
   same way: at once for a provider that cannot be asked, after the lease for one that can.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import structlog

from domain.channels import ChannelRoute
from domain.events import DeliveryStatus, Event, Provider
from persistence.repositories.outbound import DueSend
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.dispatch.recovery import (
    SEND_LEASE,
    Outcome,
    RouteLookup,
    Settler,
    alert,
    guarded,
)
from workers.dispatch.throttle import THROTTLED, Send, SendLimitLookup, admitted, provider_limits
from workers.providers.base import (
    PermanentSendError,
    ReplyTo,
    RetryableSendError,
    Sender,
    SentLookup,
    UncertainSendError,
)

log = structlog.get_logger(__name__)

# A test's stand-in for a crash: called with "claimed" (the attempt is committed, the provider
# not yet called) and "sent" (the provider answered, the outcome is not yet recorded).
Checkpoint = Callable[[str, UUID], Awaitable[None]]
# Waits between send attempts; after the last one the message is failed and staff alerted.
RETRY_BACKOFF = (timedelta(seconds=10), timedelta(seconds=60), timedelta(minutes=5))
# Transactions open at once: below the connection pool's size (10), so a burst of sends opens
# and closes no overflow connections. Provider calls wait for none: each starts as soon as its
# claim commits (a sweep makes at most ``batch`` of them).
TRANSACTION_SLOTS = 8
# A message sent, cancelled or claimed by another dispatcher since the sweep saw it.
NOT_DUE = Outcome("skipped", "not due")


@dataclass(frozen=True, slots=True)
class Attempt:
    """A send committed as ``sending``: everything the provider call and its outcome need."""

    tenant_id: UUID
    message_id: UUID
    attempt_id: UUID
    conversation_id: UUID
    route: ChannelRoute
    to: str
    text: str
    earlier_attempts: int
    reply_to: ReplyTo | None
    options: tuple[tuple[str, str], ...] = ()  # a bot question's, as buttons where possible
    sends_per_second: float | None = None  # the channel's own send rate


class OutboundDispatcher:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        senders: Mapping[Provider, Sender],
        routes: RouteLookup,
        clock: Callable[[], datetime],
        publish: Callable[[list[Event]], Awaitable[None]] | None = None,
        concurrency: int = TRANSACTION_SLOTS,
        lease: timedelta = SEND_LEASE,
        checkpoint: Checkpoint | None = None,
        send_limits: SendLimitLookup = provider_limits,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = senders
        self._routes = routes
        self._clock = clock
        self._checkpoint = checkpoint
        self._send_limits = send_limits
        self._settler = Settler(
            uow_factory=uow_factory,
            senders=senders,
            routes=routes,
            clock=clock,
            publish=publish,
            lease=lease,
            slots=asyncio.Semaphore(concurrency),
        )

    async def dispatch_due(self, *, batch: int = 100) -> list[Outcome]:
        """Send what is due now; returns one outcome per message looked at (``throttled``:
        left for a later sweep by its channel's send limit)."""
        async with self._uow_factory.system() as system:
            due = await system.due_outbound(batch)
        by_tenant: dict[UUID, list[UUID]] = {}
        for message in due:
            by_tenant.setdefault(message.tenant_id, []).append(message.message_id)
        claims = await asyncio.gather(
            *(self.dispatch(tenant_id=t, message_ids=ids) for t, ids in by_tenant.items())
        )
        return [outcome for outcomes in claims for outcome in outcomes]

    async def recover_stale(self, *, batch: int = 100) -> list[Outcome]:
        """Settle the sends left ``sending`` longer than the lease (see the module docstring)."""
        return await self._settler.recover_stale(batch=batch)

    async def dispatch_one(self, *, tenant_id: UUID, message_id: UUID) -> Outcome:
        (outcome,) = await self.dispatch(tenant_id=tenant_id, message_ids=[message_id])
        return outcome

    async def dispatch(self, *, tenant_id: UUID, message_ids: Sequence[UUID]) -> list[Outcome]:
        """Claim these messages of one tenant in one transaction, then send each and record
        its outcome on its own; one outcome per message, in order."""
        try:
            async with self._settler.slots:
                claimed = await self._claim(tenant_id, message_ids)
        except Exception as exc:  # one tenant's trouble must not stop the sweep
            log.exception("claiming due messages failed", tenant_id=str(tenant_id))
            return [Outcome("skipped", repr(exc)) for _ in message_ids]
        return list(
            await asyncio.gather(
                *(
                    guarded(self._send(claim)) if isinstance(claim, Attempt) else _decided(claim)
                    for claim in (claimed.get(m, NOT_DUE) for m in message_ids)
                )
            )
        )

    async def _send(self, attempt: Attempt) -> Outcome:
        await self._reached("claimed", attempt)
        sender = self._senders[attempt.route.provider]
        try:
            result = await sender.send(
                route=attempt.route,
                to=attempt.to,
                text=attempt.text,
                idempotency_key=str(attempt.message_id),
                reply_to=attempt.reply_to,
                options=attempt.options,
            )
        except UncertainSendError as exc:
            return await self._answer_lost(attempt, sender, str(exc))
        except RetryableSendError as exc:
            return await self._not_taken(attempt, exc)
        except PermanentSendError as exc:
            return await self._refused(attempt, str(exc))
        # From here the guest may have the message: whatever fails, the row stays ``sending``.
        await self._reached("sent", attempt)
        return await self._settler.settle(
            attempt.tenant_id,
            lambda uow: self._settler.record_sent(
                uow,
                message_id=attempt.message_id,
                attempt_id=attempt.attempt_id,
                provider_message_id=result.provider_message_id,
                to=attempt.to,
                route=attempt.route,
            ),
        )

    async def _reached(self, stage: str, attempt: Attempt) -> None:
        if self._checkpoint is not None:
            await self._checkpoint(stage, attempt.message_id)

    async def _claim(
        self, tenant_id: UUID, message_ids: Sequence[UUID]
    ) -> dict[UUID, Attempt | Outcome]:
        async with self._uow_factory(tenant_id) as uow:
            due = await uow.outbound.claim_due(message_ids=message_ids)
            turn = {message_id: n for n, message_id in enumerate(message_ids)}
            due.sort(key=lambda message: turn[message.id])  # oldest first: they get the tokens
            claimed = {message.id: await self._prepare(uow, message) for message in due}
            await self._pace(uow, claimed)
            attempts = {m: a.attempt_id for m, a in claimed.items() if isinstance(a, Attempt)}
            if attempts:
                begun = await uow.outbound.begin_sends(attempts=attempts, at=self._clock())
                for message_id in attempts.keys() - begun:
                    claimed[message_id] = NOT_DUE
            await uow.commit()
        await self._settler.publish_emitted(uow)
        return claimed

    async def _pace(self, uow: UnitOfWork, claimed: dict[UUID, Attempt | Outcome]) -> None:
        """Leave ``pending`` the sends over their channel's limits (``throttled``)."""
        sends = [
            Send(
                attempt.message_id,
                attempt.route.channel_id,
                attempt.to,
                self._send_limits(attempt.route.provider, attempt.sends_per_second),
            )
            for attempt in claimed.values()
            if isinstance(attempt, Attempt)
        ]
        if not sends:
            return
        allowed = await admitted(uow, sends, at=self._clock())
        for send in sends:
            if send.message_id not in allowed:
                claimed[send.message_id] = THROTTLED

    async def _prepare(self, uow: UnitOfWork, message: DueSend) -> Attempt | Outcome:
        if message.sender_type == "bot":
            if message.human_takeover:
                await uow.outbound.cancel(
                    message_id=message.id, reason="conversation taken over by staff"
                )
                return Outcome("cancelled", "human takeover")
            if message.staff_replied:
                await uow.outbound.cancel(message_id=message.id, reason="staff replied first")
                return Outcome("cancelled", "staff replied")
        public_id = message.channel_public_id
        route = await self._routes(public_id) if public_id is not None else None
        if route is None or not route.enabled:
            return await self._fail_unsent(uow, message, "channel missing or disabled")
        if message.guest_handle is None:
            return await self._fail_unsent(uow, message, "guest has no handle on this channel")
        reply_to = None
        if route.provider is Provider.EMAIL and message.answers is not None:
            reply_to = ReplyTo(
                subject=message.answers.subject,
                message_id=message.answers.provider_message_id,
            )
        return Attempt(
            tenant_id=uow.tenant_id,
            message_id=message.id,
            attempt_id=uuid4(),
            conversation_id=message.conversation_id,
            route=route,
            to=message.guest_handle,
            text=message.content or "",
            earlier_attempts=message.attempts,
            reply_to=reply_to,
            options=message.options,
            sends_per_second=message.sends_per_second,
        )

    async def _fail_unsent(self, uow: UnitOfWork, message: DueSend, error: str) -> Outcome:
        """Fail a claimed message that cannot be handed to any provider."""
        await uow.outbound.update_status(
            message_id=message.id, status=DeliveryStatus.FAILED, at=self._clock(), error=error
        )
        alert(uow, message.conversation_id, message.id, "delivery_failed", error)
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
        return await self._settler.settle(
            attempt.tenant_id,
            lambda uow: self._settler.give_up(
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
            await uow.outbound.record_unsent(
                message_id=attempt.message_id,
                attempt_id=attempt.attempt_id,
                until=until,
                error=str(exc),
            )
            return Outcome("retry", str(exc))

        return await self._settler.settle(attempt.tenant_id, work)

    async def _refused(self, attempt: Attempt, error: str) -> Outcome:
        async def work(uow: UnitOfWork) -> Outcome:
            if await uow.outbound.record_failed(
                message_id=attempt.message_id, attempt_id=attempt.attempt_id, error=error
            ):
                alert(uow, attempt.conversation_id, attempt.message_id, "delivery_failed", error)
            return Outcome("failed", error)

        return await self._settler.settle(attempt.tenant_id, work)


async def _decided(outcome: Outcome) -> Outcome:
    """An outcome the claim already decided (cancelled, failed, not due)."""
    return outcome
