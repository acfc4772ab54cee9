"""sentiment: score each accepted inbound message and flag the ones staff must look at."""

from __future__ import annotations

from domain.events import MessageAccepted, MessageScored
from domain.sentiment import SentimentScorer, VaderScorer, requires_attention
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError

NAME = "sentiment"


async def handle(event: MessageAccepted, uow: UnitOfWork, *, scorer: SentimentScorer) -> None:
    message = await uow.messages.get(message_id=event.message_id)
    if message is None:
        raise PermanentError(f"message {event.message_id} does not exist for this tenant")
    settings = await uow.ai_settings.get()
    threshold = float(settings.negative_sentiment_threshold) if settings else -0.5
    result = scorer.score(message.content or "")
    attention = requires_attention(result.score, threshold)
    await uow.messages.set_sentiment(
        message_id=message.id,
        score=result.score,
        label=result.label.value,
        requires_attention=attention,
    )
    uow.emit(
        MessageScored(
            tenant_id=event.tenant_id,
            message_id=message.id,
            conversation_id=event.conversation_id,
            sentiment_score=result.score,
            sentiment_label=result.label,
            requires_attention=attention,
        )
    )


def consumer(scorer: SentimentScorer | None = None) -> Consumer:
    """The consumer; pass a stronger ``scorer`` to replace VADER without touching the handler."""
    chosen = scorer or VaderScorer()

    async def handle_with_scorer(event: MessageAccepted, uow: UnitOfWork) -> None:
        await handle(event, uow, scorer=chosen)

    return Consumer(
        name=NAME,
        routing_keys=(MessageAccepted.routing_key,),
        event_types=(MessageAccepted,),
        handle=handle_with_scorer,
    )
