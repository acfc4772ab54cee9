"""Sentiment evaluation: ``frontdesk eval --sentiment MESSAGES.jsonl [--out FILE]``.

Each line is ``{"text", "label": positive|neutral|negative}`` (``sentiment`` is read when
``label`` is absent, so the decision set can be scored too), with optional ``language`` and
``split``. Printed: accuracy, macro-F1 and per-class F1, and the precision and recall of the
attention flag (staff must look) against the negative label, overall and per language.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from domain.sentiment import SentimentScorer, default_scorer, requires_attention
from domain.text import guess_language
from workers.eval_stats import Ratio
from workers.evaluate import EvaluationDataError, _load_jsonl

LABELS = ("positive", "neutral", "negative")


@dataclass(frozen=True, slots=True)
class Scored:
    text: str
    language: str
    expected: str
    predicted: str
    score: float
    attention: bool


@dataclass(frozen=True, slots=True)
class SentimentFigures:
    messages: int
    accuracy: Ratio
    f1: dict[str, float]
    attention_precision: Ratio
    attention_recall: Ratio

    @property
    def macro_f1(self) -> float:
        return sum(self.f1.values()) / len(self.f1)

    @classmethod
    def of(cls, scored: Sequence[Scored]) -> SentimentFigures:
        f1 = {}
        for label in LABELS:
            true_positive = sum(1 for s in scored if s.predicted == label == s.expected)
            predicted = sum(1 for s in scored if s.predicted == label)
            actual = sum(1 for s in scored if s.expected == label)
            f1[label] = 2 * true_positive / (predicted + actual) if predicted + actual else 0.0
        flagged = [s for s in scored if s.attention]
        negative = [s for s in scored if s.expected == "negative"]
        return cls(
            messages=len(scored),
            accuracy=Ratio(sum(1 for s in scored if s.predicted == s.expected), len(scored)),
            f1=f1,
            attention_precision=Ratio(
                sum(1 for s in flagged if s.expected == "negative"), len(flagged)
            ),
            attention_recall=Ratio(sum(1 for s in negative if s.attention), len(negative)),
        )


def load_labelled(path: Path, *, split: str | None = None) -> list[tuple[str, str, str]]:
    """(text, language, label) of every line (of one split, when given)."""
    rows = []
    for number, row in _load_jsonl(path):
        label = row.get("label", row.get("sentiment"))
        text = row.get("text")
        if not isinstance(text, str) or label not in LABELS:
            raise EvaluationDataError(f"{path}:{number}: needs 'text' and 'label' in {LABELS}")
        if split and row.get("split", "all") != split:
            continue
        rows.append((text, row.get("language") or guess_language(text), label))
    return rows


def score_all(
    rows: Sequence[tuple[str, str, str]], scorer: SentimentScorer | None = None
) -> list[Scored]:
    chosen = scorer or default_scorer()
    scored = []
    for text, language, label in rows:
        result = chosen.score(text)
        scored.append(
            Scored(
                text=text,
                language=language,
                expected=label,
                predicted=result.label.value,
                score=result.score,
                attention=requires_attention(result.score),
            )
        )
    return scored


def render(scored: Sequence[Scored], *, show_misses: bool = True) -> str:
    console = Console(file=io.StringIO(), record=True, width=160, color_system=None)
    groups = [("all", list(scored))] + [
        (lang, [s for s in scored if s.language == lang])
        for lang in sorted({s.language for s in scored})
    ]
    figures = [(name, SentimentFigures.of(group)) for name, group in groups]
    table = Table(title="Sentiment (95% Wilson)")
    table.add_column("measure")
    for name, f in figures:
        table.add_column(f"{name} ({f.messages})", justify="right")
    table.add_row("accuracy", *(f.accuracy.brief() for _, f in figures))
    table.add_row("macro-F1", *(f"{f.macro_f1:.3f}" for _, f in figures))
    for label in LABELS:
        table.add_row(f"F1 {label}", *(f"{f.f1[label]:.3f}" for _, f in figures))
    table.add_row("attention precision", *(f.attention_precision.brief() for _, f in figures))
    table.add_row("attention recall", *(f.attention_recall.brief() for _, f in figures))
    console.print(table)
    misses = [s for s in scored if s.predicted != s.expected]
    if show_misses and misses:
        miss_table = Table(title="Misses")
        for column in ("text", "expected", "predicted", "score"):
            miss_table.add_column(column)
        for s in misses:
            miss_table.add_row(s.text[:90], s.expected, s.predicted, f"{s.score:+.2f}")
        console.print(miss_table)
    return console.export_text()


def main(
    path: Path, *, split: str | None = None, out: Path | None = None, show_misses: bool = True
) -> int:
    """Print the sentiment evaluation; exit status 0, or 2 when the data cannot be read."""
    try:
        scored = score_all(load_labelled(path, split=split))
        if out is not None:
            with out.open("w", encoding="utf-8") as handle:
                for s in scored:
                    row = {
                        "text": s.text,
                        "label": s.predicted,
                        "score": round(s.score, 4),
                        "attention": s.attention,
                    }
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    except (EvaluationDataError, OSError) as error:
        Console(stderr=True).print(f"evaluation failed: {error}")
        return 2
    print(render(scored, show_misses=show_misses))
    return 0
