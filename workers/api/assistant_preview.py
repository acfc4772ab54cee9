"""What the assistant would do (``conversations.read``): ``POST /assistant/preview`` with a
guest's words answers reply (the text and its source: an FAQ item or a document passage),
escalate (reason, category) or skip (reason), with the confidence and the candidates weighed,
decided by the same path autoreply uses with the tenant's current settings. Nothing is written
and nothing is sent.

``conversations.read``: the staff who answer guests are the ones asking "would the assistant
have answered this?"; the preview shows only what the assistant would tell any guest.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import Field, StringConstraints

from domain.autoreply import Escalate, Reply
from workers.api.commands.assistant_preview import Preview, preview
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/assistant", tags=["assistant"])
Read = Annotated[Context, Depends(require("conversations.read"))]
GuestText = Annotated[str, StringConstraints(min_length=1, max_length=4096)]


class PreviewRequest(Body):
    text: GuestText = Field(description="The guest's message, as it would arrive")
    language: (
        Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] | None
    ) = Field(default=None, description="Shown back only: the matcher reads any language")
    channel_id: UUID | None = Field(
        default=None, description="The channel the guest writes on: its property's time zone"
    )
    guest_name: Name | None = Field(
        default=None, description="The guest's name, as the reply would greet them"
    )


class SourceOut(Out):
    kind: Literal["item", "passage"]
    id: str


class CandidateOut(Out):
    kind: Literal["item", "passage"]
    id: str
    title: str
    score: float
    confidence: float


class PreviewOut(Out):
    decision: Literal["reply", "escalate", "skip"]
    reason: str
    detail: str | None = None
    category: str | None = None
    urgent: bool = False
    confidence: float | None = None
    reply_text: str | None = Field(
        default=None, description="What the guest would get (the template's wording)"
    )
    answer: str | None = Field(
        default=None, description="The source's answer: the item's, or the quoted passage"
    )
    source: SourceOut | None = None
    composed_by_model: bool = Field(
        default=False, description="The tenant's model would word the reply from the source"
    )
    send_after: datetime | None = None
    notify_after: datetime | None = None
    threshold: float
    sentiment_score: float
    sentiment_label: str
    language: str | None = None
    timezone: str
    candidates: list[CandidateOut]


def present(result: Preview, *, language: str | None = None) -> PreviewOut:
    decision = result.decision
    out = PreviewOut(
        decision=result.kind,
        reason=decision.reason,
        threshold=result.threshold,
        sentiment_score=result.sentiment.score,
        sentiment_label=result.sentiment.label.value,
        language=language,
        timezone=result.timezone,
        composed_by_model=result.composed_by_model,
        candidates=[CandidateOut.model_validate(c) for c in result.candidates],
    )
    if isinstance(decision, Reply):
        out.confidence = decision.confidence
        out.reply_text = decision.text
        out.answer = decision.answer
        out.source = SourceOut(kind=decision.source, id=str(decision.knowledge_entry_id))
        out.send_after = decision.send_after
    elif isinstance(decision, Escalate):
        out.confidence = decision.confidence
        out.detail = decision.detail or None
        out.category = decision.category
        out.urgent = decision.urgent
        out.notify_after = decision.notify_after
    return out


@router.post("/preview", response_model=PreviewOut)
async def preview_reply(body: PreviewRequest, context: Read) -> PreviewOut:
    """What the assistant would decide for this message now; nothing is written or sent."""
    result = await preview(
        context.uow,
        text=body.text,
        now=datetime.now(UTC),
        channel_id=body.channel_id,
        guest_name=body.guest_name,
    )
    return present(result, language=body.language)
