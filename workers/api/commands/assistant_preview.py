"""What the assistant would do with a guest message now: the API's preview and ``frontdesk kb
ask`` share this. It decides through ``autoreply.decision_for`` with the tenant's context read
afresh, scores sentiment as the sentiment consumer does, and writes and sends nothing.

What it does not see: a conversation (human takeover, a bot dialogue running in it, the guest's
flood limit, STOP/START): the preview is a new message from a guest without history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from uuid import UUID

from domain.autoreply import Decision, DecisionKind, Reply
from domain.sentiment import SentimentResult, SentimentScorer, default_scorer
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError
from workers.consumers.autoreply import decision_for
from workers.consumers.tenant_context import TenantContexts

CANDIDATES = 3
_scorer: SentimentScorer | None = None


def scorer() -> SentimentScorer:
    """The sentiment consumer's scorer, built once per process."""
    global _scorer
    if _scorer is None:
        _scorer = default_scorer()
    return _scorer


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: Literal["item", "passage"]
    id: str
    title: str  # the item's question, or the document's title and the passage's heading
    score: float
    confidence: float


@dataclass(frozen=True, slots=True)
class Preview:
    decision: Decision
    sentiment: SentimentResult
    threshold: float
    timezone: str
    candidates: tuple[Candidate, ...]
    composed_by_model: bool

    @property
    def kind(self) -> DecisionKind:
        return self.decision.kind


async def preview(
    uow: UnitOfWork,
    *,
    text: str,
    now: datetime,
    channel_id: UUID | None = None,
    guest_name: str | None = None,
    contexts: TenantContexts | None = None,
) -> Preview:
    """The decision for ``text`` as autoreply would make it now, with the candidates weighed."""
    timezone = await _timezone(uow, channel_id)
    # A fresh cache: the preview reads the tenant's settings and knowledge as they are now.
    context = await (contexts or TenantContexts(ttl=0.0)).get(uow, timezone=timezone)
    sentiment = scorer().score(text)
    decision, _ = decision_for(
        context,
        text=text,
        sentiment=sentiment,
        human_takeover=False,
        now=now,
        guest_name=guest_name,
    )
    candidates: list[Candidate] = []
    if text.strip():
        best = context.matcher.best(text)
        if best is not None:
            candidates.append(
                _item(best.entry.id, best.entry.question, best.score, best.confidence)
            )
        for match in context.matcher.rank(text, limit=CANDIDATES):
            if all(c.id != str(match.entry.id) for c in candidates):
                candidates.append(
                    _item(match.entry.id, match.entry.question, match.score, match.confidence)
                )
        if context.passages is not None:
            for found in context.passages.rank(text, limit=CANDIDATES):
                passage = found.passage
                title = f"{passage.title} — {passage.heading}" if passage.heading else passage.title
                candidates.append(
                    Candidate("passage", str(passage.id), title, found.score, found.confidence)
                )
    candidates.sort(key=lambda c: -c.confidence)
    return Preview(
        decision=decision,
        sentiment=sentiment,
        threshold=context.ai_settings.confidence_threshold,
        timezone=timezone,
        candidates=tuple(candidates[: CANDIDATES * 2]),
        composed_by_model=isinstance(decision, Reply) and await uow.composer.enabled(),
    )


def _item(entry_id: object, question: str, score: float, confidence: float) -> Candidate:
    return Candidate("item", str(entry_id), question, score, confidence)


async def _timezone(uow: UnitOfWork, channel_id: UUID | None) -> str:
    """The time zone quiet hours are read in: the channel's property's, as for its guests."""
    if channel_id is not None:
        channel = await uow.channels.get(channel_id=channel_id)
        if channel is None:
            error = CommandError("channel_id: no channel of this tenant has that id")
            error.field = "channel_id"
            raise error
        prop = await uow.properties.get(property_id=channel.property_id)
        return prop.timezone if prop is not None else "UTC"
    properties = await uow.properties.list_all()
    return properties[0].timezone if len(properties) == 1 else "UTC"
