"""Settling send attempts: recording an attempt's outcome, and recovering the attempts whose
outcome was lost (steps 3 and 4 of the send protocol in ``workers.dispatch.outbound``).

Every write here is guarded by the attempt id, so settling one twice (a retried transaction
whose commit answer was lost, two dispatchers sweeping at once) changes nothing the second
time, and only the transition that settles an attempt alerts staff.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Literal
from uuid import UUID

import structlog

from domain.channels import ChannelRoute
from domain.events import EscalationRequested, Event, Provider
from persistence.retry import connection_retrying
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.providers.base import Sender, SendError, SentLookup

log = structlog.get_logger(__name__)

RouteLookup = Callable[[UUID], Awaitable[ChannelRoute | None]]
# Longer than any send takes (HTTP retries about 45 s, SMTP 30 s) and than Green API's journal
# lags (up to 2 min): a row ``sending`` for longer was interrupted.
SEND_LEASE = timedelta(minutes=5)
# Tries to write an outcome while connections are being lost (each also retries connecting).
OUTCOME_TRIES = 4


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # sent | retry | failed | cancelled | uncertain | sending | skipped
    detail: str = ""


class Settler:
    """Writes the outcomes of send attempts, each in its own transaction, and settles the
    attempts a crash or a lost answer left ``sending``.

    ``slots`` bounds the transactions open at once, shared with the dispatcher's claims (kept
    below the connection pool's size, so bursts open no overflow connections)."""

    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        senders: Mapping[Provider, Sender],
        routes: RouteLookup,
        clock: Callable[[], datetime],
        publish: Callable[[list[Event]], Awaitable[None]] | None,
        lease: timedelta,
        slots: asyncio.Semaphore,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = senders
        self._routes = routes
        self._clock = clock
        self._publish = publish
        self._lease = lease
        self.slots = slots

    async def recover_stale(self, *, batch: int = 100) -> list[Outcome]:
        """Settle the sends left ``sending`` longer than the lease: found at the provider ->
        ``sent``; otherwise ``uncertain``, staff alerted once."""
        async with self._uow_factory.system() as system:
            stale = await system.stale_outbound(
                started_before=self._clock() - self._lease, batch=batch
            )
        return list(
            await asyncio.gather(
                *(
                    guarded(
                        self.settle(
                            s.tenant_id,
                            partial(
                                self._reconcile, message_id=s.message_id, attempt_id=s.attempt_id
                            ),
                        )
                    )
                    for s in stale
                )
            )
        )

    async def settle(
        self, tenant_id: UUID, work: Callable[[UnitOfWork], Awaitable[Outcome]]
    ) -> Outcome:
        """Run ``work`` in its own transaction, again while connections are being lost; the
        outcome writes are guarded by the attempt id, so a retry after a commit whose answer
        was lost changes nothing."""
        outcome = Outcome("skipped", "not settled")
        async with self.slots:
            async for retry in connection_retrying(OUTCOME_TRIES):
                with retry:
                    async with self._uow_factory(tenant_id) as uow:
                        outcome = await work(uow)
                        await uow.commit()
                    await self.publish_emitted(uow)
        return outcome

    async def record_sent(
        self,
        uow: UnitOfWork,
        *,
        message_id: UUID,
        attempt_id: UUID,
        provider_message_id: str,
        to: str,
        route: ChannelRoute,
    ) -> Outcome:
        """The provider took the message: ``sent``, the conversation answered, the send
        audited, in one statement (nothing, if an earlier try of this transaction did it)."""
        await uow.outbound.record_sent(
            message_id=message_id,
            attempt_id=attempt_id,
            provider_message_id=provider_message_id,
            at=self._clock(),
            channel_id=route.channel_id,
            provider=route.provider.value,
            to=to,
        )
        return Outcome("sent", provider_message_id)

    async def give_up(
        self,
        uow: UnitOfWork,
        message_id: UUID,
        attempt_id: UUID,
        conversation_id: UUID,
        error: str,
    ) -> Outcome:
        """Mark the send ``uncertain`` and alert staff, once: only the transition alerts."""
        if await uow.outbound.record_uncertain(
            message_id=message_id, attempt_id=attempt_id, error=error
        ):
            alert(uow, conversation_id, message_id, "delivery_uncertain", error)
            log.warning(
                "send outcome uncertain", tenant_id=str(uow.tenant_id), message_id=str(message_id)
            )
        return Outcome("uncertain", error)

    async def publish_emitted(self, uow: UnitOfWork) -> None:
        if not uow.emitted or self._publish is None:
            return
        try:
            await self._publish(list(uow.emitted))
            await self._uow_factory.mark_published(
                tenant_id=uow.tenant_id, event_ids=[e.event_id for e in uow.emitted]
            )
        except Exception:  # the events are in the outbox: the relay publishes them
            log.warning("publishing after a send failed; left to the relay", exc_info=True)

    async def _reconcile(self, uow: UnitOfWork, message_id: UUID, attempt_id: UUID) -> Outcome:
        message = await uow.outbound.claim_sending(message_id=message_id, attempt_id=attempt_id)
        if message is None:
            return Outcome("skipped", "settled meanwhile")
        public_id = message.channel_public_id
        route = await self._routes(public_id) if public_id is not None else None
        sender = self._senders.get(route.provider) if route else None
        conversation_id = message.conversation_id
        if route is None or not isinstance(sender, SentLookup) or message.send_started_at is None:
            return await self.give_up(
                uow,
                message_id,
                attempt_id,
                conversation_id,
                "the send was interrupted and the provider cannot say whether the guest got it",
            )
        to = message.guest_handle or ""
        try:
            found = await sender.find_sent(
                route=route, to=to, text=message.content or "", since=message.send_started_at
            )
        except SendError as exc:
            return await self.give_up(
                uow,
                message_id,
                attempt_id,
                conversation_id,
                f"the send was interrupted and the provider could not be asked: {exc}",
            )
        for provider_message_id in found:
            known = await uow.messages.find_by_provider_id(
                channel_id=message.channel_id, provider_message_id=provider_message_id
            )
            if known is None:  # the provider sent it, and it is no other message of ours
                return await self.record_sent(
                    uow,
                    message_id=message_id,
                    attempt_id=attempt_id,
                    provider_message_id=provider_message_id,
                    to=to,
                    route=route,
                )
        return await self.give_up(
            uow,
            message_id,
            attempt_id,
            conversation_id,
            "the send was interrupted and the provider lists no such message yet",
        )


def alert(
    uow: UnitOfWork,
    conversation_id: UUID,
    message_id: UUID,
    reason: Literal["delivery_failed", "delivery_uncertain"],
    error: str,
) -> None:
    """Stage the staff alert about a delivery in ``uow``'s outbox."""
    uow.emit(
        EscalationRequested(
            tenant_id=uow.tenant_id,
            conversation_id=conversation_id,
            message_id=message_id,
            reason=reason,
            detail=error,
        )
    )


async def guarded(work: Awaitable[Outcome]) -> Outcome:
    """One message's trouble must not stop the sweep: logged, and the message skipped."""
    try:
        return await work
    except Exception as exc:
        log.exception("dispatch failed")
        return Outcome("skipped", repr(exc))
