"""composer: the tenant's own language model words a reply autoreply decided to send.

Per ``reply.compose_requested``, and never inside a database transaction:

1. **claim** (``prepare``, first short transaction): the message's ``compositions`` row is
   inserted ``claimed`` (unique per message) and what the model needs is read: settings and key,
   published prompt, the matched knowledge items, the property's facts, the guest, the last
   turns. A row found settled or drafted means nothing to call; one claimed moments ago by
   another composer is retried later; one a crash left claimed is taken over once.
2. **call**, with no transaction open; then guards check the reply (``domain.guards``).
3. **settle** (second short transaction): outcome, reason, tokens and latency on the row; a
   429 pauses the tenant until its ``Retry-After``.
4. **draft** (``handle``, in the runner's transaction with its inbox row): the outbound message
   (the model's words, or the template answer with the reason on the inbound message), or an
   escalation when the model said the context does not answer. A drafted row is never drafted
   again. The dispatcher sends it as any reply (send_after, cancel if staff replied, once).

Budget exhausted, a pause, a timeout, a 429, a 5xx or a malformed answer all end in the
template answer; repeated failures tell the tenant's staff at most once an hour.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from domain.autoreply import Reply
from domain.composer import CompositionInput, build_messages
from domain.events import CompositionRequested, EscalationRequested, MessageScored
from domain.guards import Accept, CannotAnswer, check_reply, looks_like_injection
from persistence.repositories.composer import ModelAccess
from persistence.repositories.inbound import ReplyInput
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.consumers.composer_input import composition_input
from workers.consumers.tenant_context import TenantContexts
from workers.language_model import Completion, ModelCallError, complete
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError, RetryableError

NAME = "composer"
Clock = Callable[[], datetime]
Call = Callable[[ModelAccess, Sequence[dict[str, str]]], Awaitable[Completion]]
# How long a claim protects a call in flight beyond the call's own timeout.
LEASE_MARGIN = timedelta(seconds=15)
FAILURE_WINDOW = timedelta(hours=1)
FAILURES_BEFORE_ALERT = 3
FAILURE_PREFIX = "model_failed"
MAX_ATTEMPTS = 8

log = structlog.get_logger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def month_start(now: datetime) -> datetime:
    moment = now.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


async def request_composition(
    uow: UnitOfWork, event: MessageScored, message: ReplyInput, decision: Reply, *, now: datetime
) -> None:
    """autoreply's Reply when the tenant's model words replies: the decision is recorded and
    the composer asked, with the template answer for when the model cannot be used."""
    detail = (
        f"{decision.reason} {decision.source}={decision.knowledge_entry_id}"
        f" confidence={decision.confidence:.2f} composing"
    )
    await uow.inbound.record_decision(
        message_id=message.message_id, decision="reply", reason=detail, at=now
    )
    uow.emit(
        CompositionRequested(
            tenant_id=event.tenant_id,
            message_id=message.message_id,
            conversation_id=message.conversation_id,
            channel_id=message.channel_id,
            knowledge_entry_id=str(decision.knowledge_entry_id),
            source=decision.source,
            confidence=decision.confidence,
            template_text=decision.text,
            send_after=decision.send_after,
        )
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """A claimed composition ready for its call."""

    access: ModelAccess
    composition: CompositionInput
    channel: str


class Composer:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        contexts: TenantContexts | None = None,
        clock: Clock = utc_now,
        call: Call = complete,
    ) -> None:
        self._uow_factory = uow_factory
        self._contexts = contexts or TenantContexts()
        self._clock = clock
        self._call = call

    async def prepare(self, event: CompositionRequested) -> None:
        """Claim, call and settle (steps 1-3 of the module docstring)."""
        async with self._uow_factory(event.tenant_id) as uow:
            plan = await self._claim(uow, event)
            await uow.commit()
        if plan is None:
            return
        messages = build_messages(plan.composition)
        try:
            completion = await self._call(plan.access, messages)
        except ModelCallError as exc:
            log.warning("model call failed", reason=exc.reason, status=exc.status)
            await self._settle_failure(event, plan, exc)
            return
        verdict = check_reply(completion.text, composition=plan.composition, channel=plan.channel)
        if isinstance(verdict, Accept):
            outcome, reason = "composed", "composed"
        elif isinstance(verdict, CannotAnswer):
            outcome, reason = "escalated", verdict.reason
        else:
            outcome, reason = "template", f"guard {verdict.reason}"
        async with self._uow_factory(event.tenant_id) as uow:
            await uow.composer.settle(
                message_id=event.message_id,
                outcome=outcome,
                reason=reason,
                at=self._clock(),
                reply=completion.text,
                model=completion.model,
                prompt_tokens=completion.usage.prompt_tokens,
                completion_tokens=completion.usage.completion_tokens,
                latency_ms=completion.latency_ms,
            )
            await uow.commit()

    async def _claim(self, uow: UnitOfWork, event: CompositionRequested) -> Plan | None:
        now = self._clock()
        row = await uow.composer.settings()
        timeout = timedelta(seconds=row.timeout_seconds if row is not None else 0)
        claim = await uow.composer.claim(
            message_id=event.message_id,
            conversation_id=event.conversation_id,
            now=now,
            lease=timeout + LEASE_MARGIN,
        )
        if claim.busy:
            raise RetryableError(f"message {event.message_id} is being composed elsewhere")
        if not claim.call:
            return None

        async def without_call(reason: str) -> None:
            await uow.composer.settle(
                message_id=event.message_id, outcome="template", reason=reason, at=now
            )

        if row is None or not row.enabled or row.base_url is None or row.model is None:
            await without_call("model_disabled")
            return None
        if row.paused_until is not None and row.paused_until > now:
            await without_call(f"model_paused until={row.paused_until.isoformat()}")
            return None
        budget = row.monthly_token_budget
        if budget is not None and await uow.composer.tokens_used(since=month_start(now)) >= budget:
            await without_call("budget_exhausted")
            return None
        guest = await uow.composer.guest_side(message_id=event.message_id)
        if guest is None:
            raise PermanentError(f"message {event.message_id} does not exist")
        if looks_like_injection(guest.text):
            await without_call("prompt_injection_suspected")
            return None
        prompt = await uow.prompts.published()
        if prompt is None:
            await without_call("prompt_unpublished")
            return None
        composition = await composition_input(
            uow, event, guest=guest, prompt=prompt.body, contexts=self._contexts
        )
        return Plan(uow.composer.access(row), composition, guest.provider)

    async def _settle_failure(
        self, event: CompositionRequested, plan: Plan, error: ModelCallError
    ) -> None:
        now = self._clock()
        async with self._uow_factory(event.tenant_id) as uow:
            await uow.composer.settle(
                message_id=event.message_id,
                outcome="template",
                reason=f"{FAILURE_PREFIX} {error.reason}"
                + (f" status={error.status}" if error.status else ""),
                at=now,
                model=plan.access.model,
                prompt_tokens=error.usage.prompt_tokens,
                completion_tokens=error.usage.completion_tokens,
                latency_ms=error.latency_ms,
            )
            if error.retry_after is not None:
                await uow.composer.pause(until=now + timedelta(seconds=error.retry_after))
            await uow.commit()

    async def handle(self, event: CompositionRequested, uow: UnitOfWork) -> None:
        """Draft what the settled composition says (step 4 of the module docstring)."""
        composition = await uow.composer.get(message_id=event.message_id, for_update=True)
        if composition is None or composition.status == "claimed":
            raise RetryableError(f"the composition of {event.message_id} is not settled yet")
        if composition.status == "drafted":
            return
        now = self._clock()
        matched = "document_match passage" if event.source == "passage" else "knowledge_match item"
        decided = f"{matched}={event.knowledge_entry_id} confidence={event.confidence:.2f}"
        reason = composition.reason or ""
        if composition.outcome == "escalated":
            await uow.inbound.record_decision(
                message_id=event.message_id,
                decision="escalate",
                reason=f"low_confidence {reason} {decided}",
                at=now,
            )
            uow.emit(
                EscalationRequested(
                    tenant_id=event.tenant_id,
                    conversation_id=event.conversation_id,
                    message_id=event.message_id,
                    reason="low_confidence",
                    detail=reason,
                )
            )
            await uow.composer.mark_drafted(
                message_id=event.message_id, outbound_message_id=None, at=now
            )
            return
        composed = composition.outcome == "composed" and composition.reply is not None
        draft = await uow.outbound.draft(
            conversation_id=event.conversation_id,
            channel_id=event.channel_id,
            content=(composition.reply or "").strip() if composed else event.template_text,
            sender_type="bot",
            send_after=event.send_after,
            in_reply_to_id=event.message_id,
        )
        said = f"composed model={composition.model}" if composed else f"template reason={reason}"
        await uow.composer.note_decision(message_id=event.message_id, reason=f"{decided} {said}")
        await uow.composer.mark_drafted(
            message_id=event.message_id, outbound_message_id=draft.id, at=now
        )
        if reason.startswith(FAILURE_PREFIX):
            await _alert_on_repeated_failures(uow, event, reason, now=now)


async def _alert_on_repeated_failures(
    uow: UnitOfWork, event: CompositionRequested, reason: str, *, now: datetime
) -> None:
    failures = await uow.composer.failures_since(since=now - FAILURE_WINDOW)
    if failures < FAILURES_BEFORE_ALERT:
        return
    if not await uow.composer.stamp_failure_alert(now=now, every=FAILURE_WINDOW):
        return
    await uow.notifications.add(
        conversation_id=event.conversation_id,
        message_id=event.message_id,
        type="assistant_failing",
        detail=f"{failures} failed calls in the last hour, the latest: {reason}",
        next_alert_at=now,
    )


def consumer(
    *,
    uow_factory: UnitOfWorkFactory,
    contexts: TenantContexts | None = None,
    clock: Clock = utc_now,
    call: Call = complete,
) -> Consumer:
    composer = Composer(uow_factory=uow_factory, contexts=contexts, clock=clock, call=call)
    return Consumer(
        name=NAME,
        routing_keys=(CompositionRequested.routing_key,),
        event_types=(CompositionRequested,),
        handle=composer.handle,
        prepare=composer.prepare,
        # A claim a dead composer left is free after its lease (timeout + LEASE_MARGIN, at most
        # 135 s): the retries (1 s, 10 s, then every 60 s) must outlast it.
        max_attempts=MAX_ATTEMPTS,
    )
