"""The auto-reply decision: answer from the knowledge base, get a human, or do nothing.

``decide`` is pure: everything it needs is passed in, and the same inputs give the same
decision. Rules, first match wins:

1. Human takeover -> Skip("human_takeover"). Staff own the conversation and see every message.
2. An escalation category the tenant escalates on (default refund, complaint, emergency) ->
   Escalate("escalation"), urgent for emergencies. An emergency or a complaint is also a
   message the kind models (``domain.kinds``) find likely to be one, whatever its words (the
   scores' reason in the decision's detail, ``emergency_likely=0.87``).
3. The guest asks for a person, in words the patterns know or the kind model finds likely ->
   Escalate("human_requested") ("are you a real person?" is small talk, not a request).
4. Sentiment below the tenant's negative threshold -> Escalate("negative_sentiment").
5. Auto-reply disabled, or no published prompt version -> Skip("auto_reply_disabled" /
   "prompt_unpublished"). Staff handle such tenants' inboxes themselves; an alert for every
   message would drown the alerts that matter, which rules 2-4 still raise.
6. An action request (book, cancel, change, order, bring something; a lost item, damage; by
   its words or the kind model) -> Escalate("escalation", category "request" or the detected
   one): staff must carry it out, and a knowledge entry about how booking works would leave it
   undone.
7. Small talk (thanks, greetings, "ok", "no", "are you a bot?", short praise, a notice of where
   the guest is such as "running 10 min late"; by its words or by the kind model) ->
   Skip("small_talk").
8. No text (a photo, a location) -> Escalate("low_confidence", detail "no_text").
9. Knowledge match with confidence >= threshold -> Reply, sent after the response delay (an FAQ
   item's answer, or a quoted document passage: reason "document_match").
10. Otherwise -> Escalate("low_confidence"): a wrong answer sent is worse than a human asked.

The knowledge match may be given as a function: it is then called only when rule 9 is reached,
so a complaint, an action request or small talk is decided without searching the knowledge base.
The kind scores may be a function too, called at most once (they need the message's embedding,
which the knowledge match then reuses).

Quiet hours never hold a reply to a guest who just wrote, nor an emergency; other escalations
carry ``notify_after`` = the end of quiet hours, when their staff alert may go.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import ClassVar, Literal
from uuid import UUID

from domain.escalation import (
    DEFAULT_ESCALATION_CATEGORIES,
    STAFF_TASK_CATEGORIES,
    EscalationCategory,
    asks_for_human,
    detect_categories,
    first_category,
    is_urgent,
)
from domain.events import SentimentLabel
from domain.kinds import ACTION, COMPLAINT, EMERGENCY, HUMAN, SMALL_TALK, KindScores
from domain.matching import Match
from domain.quiet_hours import quiet_hours_end, zone
from domain.rate_limits import DEFAULT_INBOUND_PER_MINUTE
from domain.replies import ReplyContext, first_name, render_reply
from domain.requests import is_action_request
from domain.sentiment import DEFAULT_ATTENTION_THRESHOLD, SentimentResult, requires_attention
from domain.small_talk import is_appreciation, is_notice, is_small_talk

# The escalation category of a request staff must carry out (book, cancel, change, bring).
ACTION_REQUEST = "request"
EscalationReason = Literal["negative_sentiment", "escalation", "low_confidence", "human_requested"]
SkipReason = Literal[
    "human_takeover", "auto_reply_disabled", "prompt_unpublished", "small_talk", "rate_limited"
]


@dataclass(frozen=True, slots=True)
class AiSettings:
    """A tenant's auto-reply settings (defaults are what a new tenant gets)."""

    auto_reply_enabled: bool = True
    confidence_threshold: float = 0.7
    response_delay_minutes: int = 0
    escalation_categories: tuple[str, ...] = DEFAULT_ESCALATION_CATEGORIES
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    timezone: str = "UTC"
    negative_threshold: float = DEFAULT_ATTENTION_THRESHOLD
    # One guest identity's messages a minute before auto-replies stop (domain.rate_limits).
    inbound_messages_per_minute: int = DEFAULT_INBOUND_PER_MINUTE

    def __post_init__(self) -> None:
        if not 0.0 <= self.confidence_threshold <= 1.0:
            raise ValueError("confidence_threshold must be within [0, 1]")
        if self.response_delay_minutes < 0:
            raise ValueError("response_delay_minutes must not be negative")
        if not -1.0 <= self.negative_threshold <= 1.0:
            raise ValueError("negative_threshold must be within [-1, 1]")
        zone(self.timezone)  # raises InvalidTimeZoneError for an unknown name


DecisionKind = Literal["reply", "escalate", "skip"]


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ClassVar[DecisionKind] = "reply"  # as ``messages.ai_decision`` records it

    answer: str  # the knowledge entry's answer
    text: str  # the message to send: the answer in the reply template
    knowledge_entry_id: str | UUID
    confidence: float
    send_after: datetime
    # "document_match": the answer quotes a passage of a knowledge document (domain.passages).
    reason: Literal["knowledge_match", "document_match"] = "knowledge_match"

    @property
    def source(self) -> Literal["item", "passage"]:
        """What ``knowledge_entry_id`` names: an FAQ item or a document passage."""
        return "passage" if self.reason == "document_match" else "item"


@dataclass(frozen=True, slots=True)
class Escalate:
    kind: ClassVar[DecisionKind] = "escalate"

    reason: EscalationReason
    category: str | None = None
    urgent: bool = False
    detail: str = ""
    notify_after: datetime | None = None
    confidence: float | None = None  # the best match's, for low_confidence


@dataclass(frozen=True, slots=True)
class Skip:
    kind: ClassVar[DecisionKind] = "skip"

    reason: SkipReason


Decision = Reply | Escalate | Skip


def decide(
    *,
    text: str | None,
    sentiment: SentimentResult,
    settings: AiSettings,
    match: Match | Callable[[], Match | None] | None,
    human_takeover: bool,
    now: datetime,
    prompt_published: bool = True,
    guest_name: str | None = None,
    assistant_name: str | None = None,
    business_name: str | None = None,
    reply_template: str | None = None,
    kinds: KindScores | Callable[[], KindScores | None] | None = None,
) -> Decision:
    """Decide what to do with one inbound guest message (rules in the module docstring)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    body = (text or "").strip()
    scored: list[KindScores | None] = []

    def likely(kind: str) -> KindScores | None:
        """The kind scores (asked for once), when they find the message likely of ``kind``."""
        if not body:
            return None
        if not scored:
            scored.append(kinds() if callable(kinds) else kinds)
        scores = scored[0]
        return scores if scores is not None and scores.likely(kind) else None

    def escalate(
        reason: EscalationReason,
        *,
        category: str | None = None,
        urgent: bool = False,
        detail: str = "",
        confidence: float | None = None,
    ) -> Escalate:
        notify_after = (
            now
            if urgent
            else quiet_hours_end(
                now, settings.quiet_hours_start, settings.quiet_hours_end, settings.timezone
            )
        )
        return Escalate(reason, category, urgent, detail, notify_after, confidence)

    if human_takeover:
        return Skip("human_takeover")
    enabled = settings.escalation_categories
    category = first_category(body, enabled) if body else None
    if (
        category is not EscalationCategory.EMERGENCY
        and EMERGENCY in enabled
        and (scores := likely(EMERGENCY))
    ):
        return escalate(
            "escalation", category=EMERGENCY, urgent=True, detail=scores.detail(EMERGENCY)
        )
    if category is not None:
        return escalate("escalation", category=category.value, urgent=is_urgent(category))
    # "On a 10 minutes de retard, on arrive" reads like a complaint and "the Müller family,
    # room 12" like a booking to the kind models; a message that only says where the guest is
    # is neither (the patterns above still catch a problem named in it).
    notice = bool(body) and is_notice(body)
    # "No thanks", "Good morning!", "am I chatting with a bot?": words that ask for nothing,
    # which the complaint, person and request models may still read close to their kind.
    chit_chat = bool(body) and is_small_talk(body)
    says_nothing = notice or chit_chat
    if COMPLAINT in enabled and not says_nothing and (scores := likely(COMPLAINT)):
        return escalate("escalation", category=COMPLAINT, detail=scores.detail(COMPLAINT))
    if body and asks_for_human(body) and not chit_chat:
        return escalate("human_requested")
    if not chit_chat and (scores := likely(HUMAN)):
        return escalate("human_requested", detail=scores.detail(HUMAN))
    if requires_attention(sentiment.score, settings.negative_threshold):
        return escalate("negative_sentiment", detail=f"score={sentiment.score:.2f}")
    if not settings.auto_reply_enabled:
        return Skip("auto_reply_disabled")
    if not prompt_published:
        return Skip("prompt_unpublished")
    if body:
        task = next((c for c in detect_categories(body) if c in STAFF_TASK_CATEGORIES), None)
        if task is not None:
            return escalate("escalation", category=task.value)
        if is_action_request(body):
            return escalate("escalation", category=ACTION_REQUEST)
        if not says_nothing and (scores := likely(ACTION)):
            return escalate("escalation", category=ACTION_REQUEST, detail=scores.detail(ACTION))
    if body and _needs_no_answer(
        body, says_nothing, sentiment, settings.negative_threshold, likely
    ):
        return Skip("small_talk")
    if not body:
        return escalate("low_confidence", detail="no_text")
    if callable(match):
        match = match()
    if match is None:
        return escalate("low_confidence", detail="no_match")
    if match.confidence < settings.confidence_threshold:
        return escalate(
            "low_confidence",
            detail=f"best={match.entry.id} below_threshold",
            confidence=match.confidence,
        )
    context = ReplyContext(
        answer=match.entry.answer,
        guest_first_name=first_name(guest_name),
        assistant_name=assistant_name,
        business_name=business_name,
    )
    return Reply(
        answer=match.entry.answer,
        text=render_reply(context, reply_template),
        knowledge_entry_id=match.entry.id,
        confidence=match.confidence,
        send_after=now + timedelta(minutes=settings.response_delay_minutes),
        reason="knowledge_match" if match.entry.document is None else "document_match",
    )


def _needs_no_answer(
    body: str,
    says_nothing: bool,
    sentiment: SentimentResult,
    negative_threshold: float,
    likely: Callable[[str], KindScores | None],
) -> bool:
    if detect_categories(body):
        # "I left my phone in the room, thanks!" names a problem even when the tenant does not
        # escalate on its category: it is not small talk.
        return False
    if says_nothing or likely(SMALL_TALK):
        # "no thanks" scores mildly negative and still needs no answer.
        return not requires_attention(sentiment.score, negative_threshold)
    return sentiment.label is SentimentLabel.POSITIVE and is_appreciation(body)
