"""sentiment: score each accepted inbound message and flag the ones staff must look at."""

from __future__ import annotations

from domain.events import MessageAccepted, MessageScored
from domain.sentiment import (
    DEFAULT_ATTENTION_THRESHOLD,
    SentimentScorer,
    default_scorer,
    requires_attention,
)
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError

NAME = "sentiment"


async def handle(event: MessageAccepted, uow: UnitOfWork, *, scorer: SentimentScorer) -> None:
    found = await uow.inbound.scoring_input(message_id=event.message_id)
    if found is None:
        raise PermanentError(f"message {event.message_id} does not exist for this tenant")
    threshold = (
        DEFAULT_ATTENTION_THRESHOLD
        if found.negative_threshold is None
        else float(found.negative_threshold)
    )
    result = scorer.score(found.content or "")
    attention = requires_attention(result.score, threshold)
    await uow.inbound.set_sentiment(
        message_id=event.message_id,
        score=result.score,
        label=result.label.value,
        requires_attention=attention,
    )
    uow.emit(
        MessageScored(
            tenant_id=event.tenant_id,
            message_id=event.message_id,
            conversation_id=event.conversation_id,
            sentiment_score=result.score,
            sentiment_label=result.label,
            requires_attention=attention,
        )
    )


def consumer(scorer: SentimentScorer | None = None) -> Consumer:
    """The consumer; pass another ``scorer`` to replace the default without touching the handler."""
    chosen = scorer or default_scorer()

    async def handle_with_scorer(event: MessageAccepted, uow: UnitOfWork) -> None:
        await handle(event, uow, scorer=chosen)

    return Consumer(
        name=NAME,
        routing_keys=(MessageAccepted.routing_key,),
        event_types=(MessageAccepted,),
        handle=handle_with_scorer,
    )
