"""Decision quality on the labelled messages in tests/eval, held above measured floors.

Floors sit just below what the current matcher, lexicon and rules reach (see `frontdesk eval`);
a change that makes any figure drop below its floor fails here. Raise a floor when a change
improves its figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workers.evaluate import (
    DEFAULT_KNOWLEDGE,
    DEFAULT_MESSAGES,
    EvaluationDataError,
    EvaluationReport,
    load_knowledge,
    main,
    render,
    run_evaluation,
)


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    return run_evaluation(DEFAULT_MESSAGES, DEFAULT_KNOWLEDGE)


def test_labelled_set_is_broad(report: EvaluationReport) -> None:
    messages = [o.message for o in report.outcomes]
    assert len(messages) >= 150
    assert sum(m.language != "en" for m in messages) / len(messages) >= 0.18
    for tenant in ("aurora-hotels", "seaside-stays", "trattoria-roma"):
        assert sum(m.tenant == tenant for m in messages) >= 45
    assert {m.expected_decision for m in messages} == {"reply", "escalate", "skip"}


def test_labels_refer_to_existing_items() -> None:
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE)
    keys = {slug: {str(e.id) for e in entries} for slug, entries in knowledge.items()}
    for line in DEFAULT_MESSAGES.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["expected_item"] is not None:
            assert row["expected_item"] in keys[row["tenant"]], row


def test_knowledge_base_shape() -> None:
    data = json.loads(DEFAULT_KNOWLEDGE.read_text(encoding="utf-8"))
    assert set(data) == {"aurora-hotels", "seaside-stays", "trattoria-roma"}
    for tenant in data.values():
        assert tenant["assistant_name"]
        keys = [item["key"] for c in tenant["categories"] for item in c["items"]]
        assert len(keys) >= 15
        assert len(keys) == len(set(keys))


def test_matcher_accuracy(report: EvaluationReport) -> None:
    assert report.matcher_accuracy.value >= 0.77, report.matcher_accuracy


def test_sentiment_accuracy(report: EvaluationReport) -> None:
    assert report.sentiment_accuracy.value >= 0.74, report.sentiment_accuracy


def test_decision_accuracy(report: EvaluationReport) -> None:
    assert report.decision_accuracy.value >= 0.67, report.decision_accuracy


def test_sent_replies_are_right(report: EvaluationReport) -> None:
    # A wrong answer sent is worse than an escalation: precision is the figure that matters.
    assert report.reply_precision.value >= 0.90, report.reply_precision
    assert report.reply_coverage.value >= 0.42, report.reply_coverage


def test_guests_who_need_a_human_get_one(report: EvaluationReport) -> None:
    assert report.escalation_recall.value >= 0.97, report.escalation_recall
    assert report.reason_accuracy.value >= 0.9, report.reason_accuracy


def test_render_and_main(report: EvaluationReport, capsys: pytest.CaptureFixture[str]) -> None:
    text = render(report)
    assert "auto-reply precision" in text
    assert "escalation recall" in text
    assert main() == 0
    assert "Decision quality" in capsys.readouterr().out


def test_bad_data_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "messages.jsonl"
    broken.write_text('{"tenant": "aurora-hotels", "text": "hi"}\n')
    with pytest.raises(EvaluationDataError, match=":1:"):
        run_evaluation(broken, DEFAULT_KNOWLEDGE)
    assert main(messages=broken) == 2
    assert main(messages=tmp_path / "missing.jsonl") == 2
