"""Decision-quality evaluation: run the auto-reply pipeline over labelled guest messages.

``frontdesk eval`` prints how often the knowledge matcher picks the right entry, how often the
sentiment label agrees with a person's, how often the whole decision (reply / escalate / skip)
is the one an operator expects, the precision of the replies that would be sent, and how many
of the messages that need a human get one. It uses default AI settings (threshold 0.7) and the
demo knowledge base, so a change to the matcher, the lexicon or the rules shows its effect here.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from domain.autoreply import AiSettings, Escalate, Reply, Skip, decide
from domain.matching import KnowledgeEntry, KnowledgeMatcher
from domain.sentiment import SentimentScorer, VaderScorer

# Package data, so an installed frontdesk (the Docker image) evaluates without a source tree.
DEFAULT_MESSAGES = Path(str(resources.files("workers.eval_data") / "messages.jsonl"))
DEFAULT_KNOWLEDGE = Path(str(resources.files("persistence.demo") / "knowledge_base.json"))
# Fixed so quiet hours and delays never make two runs differ.
EVALUATION_NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
DECISIONS = ("reply", "escalate", "skip")


class EvaluationDataError(ValueError):
    """The labelled messages or the knowledge base are malformed."""


@dataclass(frozen=True, slots=True)
class LabelledMessage:
    tenant: str
    text: str
    language: str
    expected_decision: str
    expected_item: str | None
    expected_reason: str | None
    expected_sentiment: str


@dataclass(frozen=True, slots=True)
class Outcome:
    message: LabelledMessage
    decision: str
    reason: str
    matched_item: str | None
    confidence: float | None
    replied_item: str | None
    sentiment: str


@dataclass(frozen=True, slots=True)
class Ratio:
    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.value:.3f} ({self.hits}/{self.total})"


@dataclass(frozen=True, slots=True)
class EvaluationReport:
    matcher_accuracy: Ratio  # top-1 entry right, on messages with an expected item
    sentiment_accuracy: Ratio
    decision_accuracy: Ratio
    reply_precision: Ratio  # replies sent with the expected entry / replies sent
    reply_coverage: Ratio  # answerable messages answered with the right entry
    escalation_recall: Ratio  # messages that need a human and got one
    reason_accuracy: Ratio  # escalations with the expected notification type
    confusion: Mapping[tuple[str, str], int] = field(default_factory=dict)
    outcomes: tuple[Outcome, ...] = ()

    @property
    def misses(self) -> tuple[Outcome, ...]:
        return tuple(
            o
            for o in self.outcomes
            if o.decision != o.message.expected_decision
            or (o.decision == "reply" and o.replied_item != o.message.expected_item)
        )


def load_messages(path: Path) -> list[LabelledMessage]:
    """Parse the JSONL of labelled messages; a bad line is an error naming its number."""
    messages = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            message = LabelledMessage(
                tenant=row["tenant"],
                text=row["text"],
                language=row.get("language", "en"),
                expected_decision=row["expected_decision"],
                expected_item=row.get("expected_item"),
                expected_reason=row.get("expected_reason"),
                expected_sentiment=row["expected_sentiment"],
            )
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise EvaluationDataError(f"{path}:{number}: {error!r}") from error
        if message.expected_decision not in DECISIONS:
            raise EvaluationDataError(f"{path}:{number}: bad expected_decision")
        messages.append(message)
    return messages


def load_knowledge(path: Path) -> dict[str, tuple[KnowledgeEntry, ...]]:
    """Knowledge entries per tenant slug from the demo knowledge-base JSON."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return {
            slug: tuple(
                KnowledgeEntry(
                    id=item["key"],
                    category=f"{category['slug']} {category['name']}",
                    question=item["question"],
                    answer=item["answer"],
                    example_questions=tuple(item.get("example_questions", ())),
                )
                for category in tenant["categories"]
                for item in category["items"]
            )
            for slug, tenant in data.items()
        }
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise EvaluationDataError(f"{path}: {error!r}") from error


def evaluate_one(
    message: LabelledMessage,
    matcher: KnowledgeMatcher,
    scorer: SentimentScorer,
    settings: AiSettings,
) -> Outcome:
    sentiment = scorer.score(message.text)
    match = matcher.best(message.text)
    decision = decide(
        text=message.text,
        sentiment=sentiment,
        settings=settings,
        match=match,
        human_takeover=False,
        now=EVALUATION_NOW,
    )
    kind = {Reply: "reply", Escalate: "escalate", Skip: "skip"}[type(decision)]
    return Outcome(
        message=message,
        decision=kind,
        reason=decision.reason,
        matched_item=str(match.entry.id) if match else None,
        confidence=match.confidence if match else None,
        replied_item=str(decision.knowledge_entry_id) if isinstance(decision, Reply) else None,
        sentiment=sentiment.label.value,
    )


def run_evaluation(
    messages_path: Path = DEFAULT_MESSAGES,
    knowledge_path: Path = DEFAULT_KNOWLEDGE,
    settings: AiSettings | None = None,
) -> EvaluationReport:
    """Score every labelled message with default AI settings and summarize."""
    settings = settings or AiSettings()
    knowledge = load_knowledge(knowledge_path)
    matchers = {slug: KnowledgeMatcher(entries) for slug, entries in knowledge.items()}
    scorer = VaderScorer()
    outcomes = []
    for message in load_messages(messages_path):
        if message.tenant not in matchers:
            raise EvaluationDataError(f"unknown tenant {message.tenant!r} in {messages_path}")
        outcomes.append(evaluate_one(message, matchers[message.tenant], scorer, settings))
    return summarize(outcomes)


def summarize(outcomes: list[Outcome]) -> EvaluationReport:
    def ratio(selected: list[Outcome], hit: Any) -> Ratio:
        return Ratio(sum(1 for o in selected if hit(o)), len(selected))

    with_item = [o for o in outcomes if o.message.expected_item]
    replies = [o for o in outcomes if o.decision == "reply"]
    needs_human = [o for o in outcomes if o.message.expected_decision == "escalate"]
    escalated = [o for o in needs_human if o.decision == "escalate"]
    return EvaluationReport(
        matcher_accuracy=ratio(with_item, lambda o: o.matched_item == o.message.expected_item),
        sentiment_accuracy=ratio(outcomes, lambda o: o.sentiment == o.message.expected_sentiment),
        decision_accuracy=ratio(outcomes, lambda o: o.decision == o.message.expected_decision),
        reply_precision=ratio(replies, lambda o: o.replied_item == o.message.expected_item),
        reply_coverage=ratio(with_item, lambda o: o.replied_item == o.message.expected_item),
        escalation_recall=ratio(needs_human, lambda o: o.decision == "escalate"),
        reason_accuracy=ratio(escalated, lambda o: o.reason == o.message.expected_reason),
        confusion=dict(Counter((o.message.expected_decision, o.decision) for o in outcomes)),
        outcomes=tuple(outcomes),
    )


def render(report: EvaluationReport, *, show_misses: bool = True) -> str:
    """The report as text tables (figures, decision confusion, and the misses)."""
    console = Console(record=True, width=120, color_system=None)
    figures = Table(title="Decision quality")
    figures.add_column("measure")
    figures.add_column("value", justify="right")
    for name, value in (
        ("matcher top-1 accuracy", report.matcher_accuracy),
        ("sentiment accuracy", report.sentiment_accuracy),
        ("decision accuracy", report.decision_accuracy),
        ("auto-reply precision", report.reply_precision),
        ("auto-reply coverage", report.reply_coverage),
        ("escalation recall", report.escalation_recall),
        ("escalation reason accuracy", report.reason_accuracy),
    ):
        figures.add_row(name, str(value))
    console.print(figures)
    confusion = Table(title="Expected (rows) vs decided (columns)")
    confusion.add_column("expected")
    for decided in DECISIONS:
        confusion.add_column(decided, justify="right")
    for expected in DECISIONS:
        counts = [str(report.confusion.get((expected, decided), 0)) for decided in DECISIONS]
        confusion.add_row(expected, *counts)
    console.print(confusion)
    if show_misses and report.misses:
        misses = Table(title="Misses")
        for column in ("tenant", "text", "expected", "decided", "best match", "conf."):
            misses.add_column(column)
        for o in report.misses:
            expected = o.message.expected_decision + (
                f" {o.message.expected_item}" if o.message.expected_item else ""
            )
            decided = f"{o.decision} {o.reason}"
            confidence = f"{o.confidence:.2f}" if o.confidence is not None else "-"
            misses.add_row(
                o.message.tenant,
                o.message.text[:60],
                expected,
                decided,
                o.matched_item or "-",
                confidence,
            )
        console.print(misses)
    return console.export_text()


def main(messages: Path | None = None, knowledge: Path | None = None) -> int:
    """Print the evaluation; exit status 0, or 2 when the data cannot be read."""
    try:
        report = run_evaluation(messages or DEFAULT_MESSAGES, knowledge or DEFAULT_KNOWLEDGE)
    except (EvaluationDataError, OSError) as error:
        Console(stderr=True).print(f"evaluation failed: {error}")
        return 2
    print(render(report))
    return 0
