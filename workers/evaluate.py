"""Decision-quality evaluation: run the auto-reply decision over labelled guest messages.

``frontdesk eval --kb KB.json --messages MESSAGES.jsonl [--threshold T] [--language L]
[--out DECISIONS.jsonl]`` runs ``domain.autoreply.decide`` (default AI settings, the given
confidence threshold) on every message and prints, per language with 95% Wilson intervals:
top-1 accuracy of the matcher, coverage (answerable questions answered with the right item),
precision of the replies that would be sent, how often a question the knowledge base does not
cover is answered anyway, and how often small talk and action requests reach staff.

KB.json is a list of ``{"id", "question", "answer", "category", "examples": [...]}`` (or the
demo file, one knowledge base per tenant slug). Each line of MESSAGES.jsonl is
``{"text", "expected": item id or null, "kind": ...}`` with optional ``tenant``, ``language``,
``sentiment`` and ``split``. Kinds: ``faq`` (the default when an item is expected),
``uncovered`` (the default otherwise: a question no item answers), ``small_talk``, ``praise``,
``action`` (a booking or other request staff must carry out), ``complaint``, ``emergency``,
``human``. Without ``--kb`` the bundled labelled set runs against the demo knowledge bases.

``frontdesk eval --sentiment MESSAGES.jsonl`` scores sentiment instead; see
``workers.evaluate_sentiment``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from domain.autoreply import AiSettings, Escalate, Reply, decide
from domain.kinds import KIND_MODEL, KindModel
from domain.matching import KnowledgeEntry, KnowledgeMatcher
from domain.semantic import Embedder, shared_embedder
from domain.sentiment import SentimentScorer, default_scorer, requires_attention
from domain.text import guess_language
from workers.eval_stats import Ratio

# Package data, so an installed frontdesk (the Docker image) evaluates without a source tree.
DEFAULT_MESSAGES = Path(str(resources.files("workers.eval_data") / "messages.jsonl"))
DEFAULT_SENTIMENT = Path(str(resources.files("workers.eval_data") / "sentiment.jsonl"))
DEFAULT_KNOWLEDGE = Path(str(resources.files("persistence.demo") / "knowledge_base.json"))
# Fixed so quiet hours and delays never make two runs differ.
EVALUATION_NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
KINDS = ("faq", "uncovered", "small_talk", "praise", "action", "complaint", "emergency", "human")
NEEDS_STAFF = frozenset({"action", "complaint", "emergency", "human"})
NO_STAFF = frozenset({"small_talk", "praise"})
SINGLE_KB = ""  # the tenant key of a knowledge base given as a flat list


class EvaluationDataError(ValueError):
    """The labelled messages or the knowledge base are malformed."""


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    text: str
    kind: str
    expected_item: str | None
    language: str
    tenant: str = SINGLE_KB
    sentiment: str | None = None
    split: str = "all"


@dataclass(frozen=True, slots=True)
class Outcome:
    message: LabelledMessage
    decision: str  # reply | escalate | skip
    reason: str
    matched_item: str | None  # the matcher's best item, whatever was decided
    confidence: float | None
    replied_item: str | None  # the knowledge item sent, for knowledge replies
    urgent: bool
    sentiment: str
    attention: bool = False  # flagged for staff by its sentiment (the tenant's threshold)

    @property
    def right(self) -> bool:
        """Did the decision do what the label asks for?"""
        kind = self.message.kind
        if kind == "faq":
            return self.replied_item == self.message.expected_item
        if kind == "emergency":
            return self.decision == "escalate" and self.urgent
        if kind in NEEDS_STAFF:
            return self.decision == "escalate"
        if kind in NO_STAFF:
            return self.decision != "escalate" and self.replied_item is None
        return self.replied_item is None  # uncovered: anything but an answer from the KB


@dataclass(frozen=True, slots=True)
class Figures:
    """The measures of one group of outcomes (a language, or all of them)."""

    messages: int
    top1_accuracy: Ratio
    coverage: Ratio
    precision: Ratio
    uncovered_answered: Ratio
    small_talk_escalated: Ratio
    action_routed: Ratio
    needs_staff_recall: Ratio
    emergency_urgent: Ratio
    decision_accuracy: Ratio
    sentiment_accuracy: Ratio
    unhappy_flagged: Ratio
    flags_unhappy: Ratio

    @classmethod
    def of(cls, outcomes: Sequence[Outcome]) -> Figures:
        def ratio(kinds: Iterable[str] | None, hit: Callable[[Outcome], bool]) -> Ratio:
            wanted = None if kinds is None else frozenset(kinds)
            chosen = [o for o in outcomes if wanted is None or o.message.kind in wanted]
            return Ratio(sum(1 for o in chosen if hit(o)), len(chosen))

        replies = [o for o in outcomes if o.replied_item is not None]
        scored = [o for o in outcomes if o.message.sentiment]
        unhappy = sum(1 for o in scored if o.message.sentiment == "negative")
        flagged = sum(1 for o in scored if o.attention)
        flagged_unhappy = sum(
            1 for o in scored if o.attention and o.message.sentiment == "negative"
        )
        return cls(
            messages=len(outcomes),
            top1_accuracy=ratio(["faq"], lambda o: o.matched_item == o.message.expected_item),
            coverage=ratio(["faq"], lambda o: o.replied_item == o.message.expected_item),
            precision=Ratio(
                sum(1 for o in replies if o.replied_item == o.message.expected_item),
                len(replies),
            ),
            uncovered_answered=ratio(["uncovered"], lambda o: o.replied_item is not None),
            small_talk_escalated=ratio(NO_STAFF, lambda o: o.decision == "escalate"),
            action_routed=ratio(["action"], lambda o: o.decision == "escalate"),
            needs_staff_recall=ratio(NEEDS_STAFF, lambda o: o.decision == "escalate"),
            emergency_urgent=ratio(["emergency"], lambda o: o.urgent),
            decision_accuracy=ratio(None, lambda o: o.right),
            sentiment_accuracy=Ratio(
                sum(1 for o in scored if o.sentiment == o.message.sentiment), len(scored)
            ),
            unhappy_flagged=Ratio(flagged_unhappy, unhappy),
            flags_unhappy=Ratio(flagged_unhappy, flagged),
        )


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    overall: Figures
    by_language: dict[str, Figures]
    outcomes: tuple[Outcome, ...]

    @property
    def misses(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.right)


def _load_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise EvaluationDataError(f"{path}:{number}: {error}") from error
        if not isinstance(row, dict):
            raise EvaluationDataError(f"{path}:{number}: a line must be a JSON object")
        rows.append((number, row))
    return rows


def load_messages(path: Path) -> list[LabelledMessage]:
    """Parse the JSONL of labelled messages; a bad line is an error naming its number."""
    messages = []
    for number, row in _load_jsonl(path):
        text = row.get("text")
        expected = row.get("expected", row.get("expected_item"))
        kind = row.get("kind") or ("faq" if expected else "uncovered")
        if not isinstance(text, str) or not text.strip():
            raise EvaluationDataError(f"{path}:{number}: 'text' must be a non-empty string")
        if "expected" not in row and "expected_item" not in row and "kind" not in row:
            raise EvaluationDataError(f"{path}:{number}: needs 'expected' (an item id or null)")
        if kind not in KINDS:
            raise EvaluationDataError(f"{path}:{number}: unknown kind {kind!r}")
        if (kind == "faq") != bool(expected):
            raise EvaluationDataError(f"{path}:{number}: only 'faq' messages expect an item")
        messages.append(
            LabelledMessage(
                text=text,
                kind=kind,
                expected_item=str(expected) if expected else None,
                language=row.get("language") or guess_language(text),
                tenant=row.get("tenant") or SINGLE_KB,
                sentiment=row.get("sentiment"),
                split=row.get("split", "all"),
            )
        )
    return messages


def _entry(item: dict[str, Any], category: str) -> KnowledgeEntry:
    return KnowledgeEntry(
        id=str(item.get("id", item.get("key"))),
        category=category,
        question=item["question"],
        answer=item["answer"],
        example_questions=tuple(item.get("examples", item.get("example_questions", ()))),
    )


def load_knowledge(path: Path) -> dict[str, tuple[KnowledgeEntry, ...]]:
    """Knowledge entries per tenant: a flat list is one knowledge base, the demo file many."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, list):
            return {SINGLE_KB: tuple(_entry(item, item.get("category") or "") for item in data)}
        return {
            slug: tuple(
                _entry(item, f"{category['slug']} {category['name']}")
                for category in tenant["categories"]
                for item in category["items"]
            )
            for slug, tenant in data.items()
        }
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as error:
        raise EvaluationDataError(f"{path}: {error!r}") from error


def evaluate_one(
    message: LabelledMessage,
    matcher: KnowledgeMatcher,
    scorer: SentimentScorer,
    settings: AiSettings,
    kinds: KindModel | None = KIND_MODEL,
    embedder: Embedder | None = None,
) -> Outcome:
    """Decide one message as the pipeline would: its sentiment, the kind model's scores (from
    ``embedder``'s vector; none without one), the matcher's best entry."""
    sentiment = scorer.score(message.text)
    match = matcher.best(message.text)
    decision = decide(
        text=message.text,
        sentiment=sentiment,
        settings=settings,
        match=match,
        human_takeover=False,
        now=EVALUATION_NOW,
        kinds=kinds.of_text(message.text, embedder) if kinds is not None else None,
    )
    knowledge_reply = isinstance(decision, Reply) and decision.reason == "knowledge_match"
    return Outcome(
        message=message,
        decision=decision.kind,
        reason=decision.reason,
        matched_item=str(match.entry.id) if match else None,
        confidence=match.confidence if match else None,
        replied_item=(
            str(decision.knowledge_entry_id)
            if knowledge_reply and isinstance(decision, Reply)
            else None
        ),
        urgent=isinstance(decision, Escalate) and decision.urgent,
        sentiment=sentiment.label.value,
        attention=requires_attention(sentiment.score, settings.negative_threshold),
    )


def run_evaluation(
    messages_path: Path = DEFAULT_MESSAGES,
    knowledge_path: Path = DEFAULT_KNOWLEDGE,
    settings: AiSettings | None = None,
    *,
    language: str | None = None,
    split: str | None = None,
) -> EvaluationReport:
    """Decide every labelled message (optionally one language or split) and summarize."""
    settings = settings or AiSettings()
    knowledge = load_knowledge(knowledge_path)
    embedder = shared_embedder()
    matchers = {
        slug: KnowledgeMatcher(entries, embedder=embedder) for slug, entries in knowledge.items()
    }
    scorer = default_scorer(embedder)
    outcomes = []
    for message in load_messages(messages_path):
        if language and message.language != language:
            continue
        if split and message.split != split:
            continue
        matcher = matchers.get(SINGLE_KB if SINGLE_KB in matchers else message.tenant)
        if matcher is None:
            raise EvaluationDataError(f"unknown tenant {message.tenant!r} in {messages_path}")
        outcomes.append(evaluate_one(message, matcher, scorer, settings, embedder=embedder))
    return summarize(outcomes)


def summarize(outcomes: Sequence[Outcome]) -> EvaluationReport:
    languages = sorted({o.message.language for o in outcomes})
    return EvaluationReport(
        overall=Figures.of(outcomes),
        by_language={
            lang: Figures.of([o for o in outcomes if o.message.language == lang])
            for lang in languages
        },
        outcomes=tuple(outcomes),
    )


MEASURES = (
    ("top-1 accuracy", "top1_accuracy"),
    ("coverage", "coverage"),
    ("precision of sent replies", "precision"),
    ("uncovered answered (lower is better)", "uncovered_answered"),
    ("small talk escalated (lower is better)", "small_talk_escalated"),
    ("action requests routed to staff", "action_routed"),
    ("needs staff: escalated", "needs_staff_recall"),
    ("emergencies urgent", "emergency_urgent"),
    ("decision right", "decision_accuracy"),
    ("sentiment label right", "sentiment_accuracy"),
    ("unhappy messages flagged for staff", "unhappy_flagged"),
    ("flags on unhappy messages", "flags_unhappy"),
)


def render(report: EvaluationReport, *, show_misses: bool = True) -> str:
    """The report as text tables: figures per language, then the misses."""
    console = Console(file=io.StringIO(), record=True, width=160, color_system=None)
    table = Table(title=f"Decision quality ({report.overall.messages} messages, 95% Wilson)")
    table.add_column("measure")
    groups = [("all", report.overall), *report.by_language.items()]
    for name, figures in groups:
        table.add_column(f"{name} ({figures.messages})", justify="right")
    for label, attribute in MEASURES:
        table.add_row(label, *(getattr(figures, attribute).brief() for _, figures in groups))
    console.print(table)
    if show_misses and report.misses:
        misses = Table(title="Misses")
        for column in ("text", "kind", "expected", "decided", "best match", "conf."):
            misses.add_column(column)
        for o in report.misses:
            confidence = f"{o.confidence:.2f}" if o.confidence is not None else "-"
            misses.add_row(
                o.message.text[:70],
                o.message.kind,
                o.message.expected_item or "-",
                f"{o.decision} {o.reason}{' urgent' if o.urgent else ''}",
                o.matched_item or "-",
                confidence,
            )
        console.print(misses)
    return console.export_text()


def write_decisions(report: EvaluationReport, path: Path) -> None:
    """One JSON line per message: what was decided, with which item, how sure, and why."""
    with path.open("w", encoding="utf-8") as out:
        for o in report.outcomes:
            row = {
                "text": o.message.text,
                "decision": o.decision,
                "item": o.replied_item if o.decision == "reply" else o.matched_item,
                "confidence": o.confidence,
                "reason": o.reason,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(
    messages: Path | None = None,
    knowledge: Path | None = None,
    *,
    threshold: float | None = None,
    language: str | None = None,
    split: str | None = None,
    out: Path | None = None,
    show_misses: bool = True,
) -> int:
    """Print the evaluation; exit status 0, or 2 when the data cannot be read."""
    try:
        settings = AiSettings() if threshold is None else AiSettings(confidence_threshold=threshold)
        report = run_evaluation(
            messages or DEFAULT_MESSAGES,
            knowledge or DEFAULT_KNOWLEDGE,
            settings,
            language=language,
            split=split,
        )
        if out is not None:
            write_decisions(report, out)
    except (EvaluationDataError, OSError, ValueError) as error:
        Console(stderr=True).print(f"evaluation failed: {error}")
        return 2
    print(render(report, show_misses=show_misses))
    return 0
