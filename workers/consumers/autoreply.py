"""autoreply: answer from the knowledge base, escalate to staff, or do nothing — and say why.

The decision itself is ``domain.autoreply.decide`` (pure); this handler gathers its inputs and
records its outcome: a Reply becomes an outbound message with ``send_after`` (the dispatcher
picks it up from there), an Escalate becomes ``escalation.requested``, and every decision, with
its reason, is written on the inbound message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from domain.autoreply import Decision, Escalate, Reply, decide
from domain.events import (
    EscalationRequested,
    MessageScored,
    SentimentLabel,
)
from domain.matching import Match
from domain.sentiment import SentimentResult
from persistence.uow import UnitOfWork
from workers.consumers import inbound_limit
from workers.consumers.composer import request_composition
from workers.consumers.tenant_context import TenantContext, TenantContexts
from workers.dialog import respond as dialog
from workers.dialog.respond import knowledge_lookup
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError
from workers.scheduler.opt_out import apply_keyword

NAME = "autoreply"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def decision_for(
    context: TenantContext,
    *,
    text: str,
    sentiment: SentimentResult,
    human_takeover: bool,
    now: datetime,
    guest_name: str | None = None,
) -> tuple[Decision, Match | None]:
    """What the assistant decides for ``text`` with the tenant's current context, and the
    answer it weighed (the handler and the staff's preview both decide through here). The
    knowledge base is searched only when the rules get that far: a complaint, an action request
    or small talk is decided without searching it (the message is embedded once, for the kind
    model, and the search reuses that vector)."""
    weighed: list[Match | None] = []

    def best() -> Match | None:
        if not weighed:
            weighed.append(context.answer(text) if text.strip() else None)
        return weighed[0]

    decision = decide(
        text=text,
        sentiment=sentiment,
        settings=context.ai_settings,
        match=best,
        human_takeover=human_takeover,
        now=now,
        prompt_published=context.prompt_published,
        guest_name=guest_name,
        assistant_name=context.assistant_name,
        business_name=context.business_name,
        kinds=lambda: context.kinds(text),
    )
    return decision, weighed[0] if weighed else None


def source_detail(decision: Reply) -> str:
    """How a decision record names the answer's source: an FAQ item or a document passage."""
    return f"{decision.reason} {decision.source}={decision.knowledge_entry_id}"


async def handle(
    event: MessageScored, uow: UnitOfWork, *, contexts: TenantContexts, clock: Clock = utc_now
) -> None:
    message = await uow.inbound.reply_input(
        message_id=event.message_id, conversation_id=event.conversation_id
    )
    if message is None:
        raise PermanentError(f"message {event.message_id} or its conversation does not exist")
    now = clock()
    if await apply_keyword(uow, message, now=now):  # STOP / START: recorded, nothing to answer
        return
    context = await contexts.get(uow, timezone=message.timezone or "UTC")
    per_minute = context.ai_settings.inbound_messages_per_minute
    # In a bot dialogue, messages are decided in order: wait for an earlier one first, holding
    # nothing it needs (the guest's rate-limit bucket is taken next, until commit).
    in_use = await dialog.wait_for_turn(uow, message, now=now)
    if await inbound_limit.held_back(uow, message, per_minute=per_minute, now=now):
        return  # a flood: stored and decided, staff told once, no auto-reply
    # A bot dialogue running in the conversation (or started by these words) answers instead.
    lookup = knowledge_lookup(context.matcher, context.ai_settings.confidence_threshold)
    if await dialog.respond(uow, message, now=now, knowledge=lookup, in_use=in_use):
        return
    decision, _ = decision_for(
        context,
        text=message.content or "",
        sentiment=SentimentResult(event.sentiment_score, SentimentLabel(event.sentiment_label)),
        human_takeover=message.human_takeover,
        now=now,
        guest_name=message.guest_name,
    )
    if isinstance(decision, Reply) and await uow.composer.enabled():
        # The tenant's own language model words this reply (workers.consumers.composer).
        await request_composition(uow, event, message, decision, now=now)
    elif isinstance(decision, Reply):
        await uow.outbound.draft(
            conversation_id=message.conversation_id,
            channel_id=message.channel_id,
            content=decision.text,
            sender_type="bot",
            send_after=decision.send_after,
            in_reply_to_id=message.message_id,
        )
        detail = f"{source_detail(decision)} confidence={decision.confidence:.2f}"
        await uow.inbound.record_decision(
            message_id=message.message_id, decision="reply", reason=detail, at=now
        )
    elif isinstance(decision, Escalate):
        reason = decision.reason
        detail = " ".join(
            part
            for part in (
                f"category={decision.category}" if decision.category else "",
                decision.detail,
                f"confidence={decision.confidence:.2f}" if decision.confidence is not None else "",
            )
            if part
        )
        await uow.inbound.record_decision(
            message_id=message.message_id,
            decision="escalate",
            reason=f"{reason} {detail}".strip(),
            at=now,
        )
        uow.emit(
            EscalationRequested(
                tenant_id=event.tenant_id,
                conversation_id=message.conversation_id,
                message_id=message.message_id,
                reason=reason,
                detail=detail,
                urgent=decision.urgent,
            )
        )
    else:
        await uow.inbound.record_decision(
            message_id=message.message_id, decision="skip", reason=decision.reason, at=now
        )
        if decision.reason == "human_takeover":
            # Staff own the conversation: its assignee (or the staff targets) hear of each message.
            uow.emit(
                EscalationRequested(
                    tenant_id=event.tenant_id,
                    conversation_id=message.conversation_id,
                    message_id=message.message_id,
                    reason="guest_message",
                )
            )


def consumer(*, contexts: TenantContexts | None = None, clock: Clock = utc_now) -> Consumer:
    tenant_contexts = contexts or TenantContexts()

    async def handle_scored(event: MessageScored, uow: UnitOfWork) -> None:
        await handle(event, uow, contexts=tenant_contexts, clock=clock)

    return Consumer(
        name=NAME,
        routing_keys=(MessageScored.routing_key,),
        event_types=(MessageScored,),
        handle=handle_scored,
    )
