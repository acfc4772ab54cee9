"""Decision quality on the held-out split of the labelled messages, held above measured floors.

The floors sit just below what the matcher, the kind models, the rules and the sentiment
scorer reach on the held-out split (``frontdesk eval --split heldout``, ``frontdesk eval
--sentiment workers/eval_data/sentiment.jsonl --split heldout``); nothing is tuned on that
split. The held-out messages were written apart from the rest, after the models were designed,
and read once; a split that has been looked into joins the training split and a newly written
one takes its place. A change that makes a figure drop below its floor fails here; raise a
floor when a change improves it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from domain.autoreply import AiSettings
from domain.calibration import FEATURE_NAMES
from workers import calibrate, evaluate_sentiment
from workers.eval_stats import Ratio
from workers.evaluate import (
    DEFAULT_KNOWLEDGE,
    DEFAULT_MESSAGES,
    DEFAULT_SENTIMENT,
    EvaluationDataError,
    EvaluationReport,
    load_knowledge,
    load_messages,
    main,
    render,
    run_evaluation,
)


@pytest.fixture(scope="module")
def report() -> EvaluationReport:
    return run_evaluation(DEFAULT_MESSAGES, DEFAULT_KNOWLEDGE, split="heldout")


@pytest.fixture(scope="module")
def sentiment() -> evaluate_sentiment.SentimentFigures:
    rows = evaluate_sentiment.load_labelled(DEFAULT_SENTIMENT, split="heldout")
    return evaluate_sentiment.SentimentFigures.of(evaluate_sentiment.score_all(rows))


def test_labelled_set_is_broad() -> None:
    messages = load_messages(DEFAULT_MESSAGES)
    assert len(messages) >= 1000
    for tenant in ("aurora-hotels", "seaside-stays", "trattoria-roma"):
        assert sum(m.tenant == tenant for m in messages) >= 250
    languages = Counter(m.language for m in messages)
    for language in ("en", "es", "fr", "de"):
        assert languages[language] >= 120, languages
    kinds = Counter(m.kind for m in messages)
    for kind in ("faq", "uncovered", "small_talk", "action", "complaint", "emergency", "human"):
        assert kinds[kind] >= 15, kinds
    # Enough held-out messages for figures with useful intervals, most of the set to fit on.
    held_out = sum(m.split == "heldout" for m in messages)
    assert 250 <= held_out <= 0.4 * len(messages)
    assert len({(m.tenant, m.text) for m in messages}) == len(messages)


def test_labels_refer_to_existing_items() -> None:
    knowledge = load_knowledge(DEFAULT_KNOWLEDGE)
    keys = {slug: {str(e.id) for e in entries} for slug, entries in knowledge.items()}
    for message in load_messages(DEFAULT_MESSAGES):
        if message.expected_item is not None:
            assert message.expected_item in keys[message.tenant], message


def test_knowledge_base_shape() -> None:
    data = json.loads(DEFAULT_KNOWLEDGE.read_text(encoding="utf-8"))
    assert set(data) == {"aurora-hotels", "seaside-stays", "trattoria-roma"}
    for tenant in data.values():
        assert tenant["assistant_name"]
        keys = [item["key"] for c in tenant["categories"] for item in c["items"]]
        assert len(keys) >= 15
        assert len(keys) == len(set(keys))


def test_sent_replies_are_right(report: EvaluationReport) -> None:
    # A wrong answer sent is worse than an escalation: precision is the figure that matters.
    figures = report.overall
    # 0.87 on the held-out messages (58 of 67), the eleventh set; 0.93, 0.99, 0.97, 0.96, 0.95
    # and 0.93 on the sets before.
    assert figures.precision.value >= 0.85, figures.precision
    # 0.46 (58 of 126); 0.63, 0.70, 0.80 and 0.76 on the sets before.
    assert figures.coverage.value >= 0.42, figures.coverage
    # 0.86 (108 of 126); 0.92 on the set before.
    assert figures.top1_accuracy.value >= 0.83, figures.top1_accuracy


def test_every_language_is_answered(report: EvaluationReport) -> None:
    # Guests write in four languages; the knowledge entries mostly in English.
    for language in ("en", "es", "fr", "de"):
        figures = report.by_language[language]
        # English 0.75 (15 of 20), the others 0.88-0.95.
        assert figures.precision.value >= 0.7, (language, figures.precision)
        # German 0.32 (9 of 28), the others 0.45-0.53 (0.57-0.69 on the set before).
        assert figures.coverage.value >= 0.3, (language, figures.coverage)


def test_uncovered_questions_are_not_answered_from_a_neighbour(report: EvaluationReport) -> None:
    # 6 of the 55 held-out ones are answered; 4 of 25, 0 of 31, 3 of 29, 1 of 32 and 5 of 46 of
    # the sets before.
    assert report.overall.uncovered_answered.value <= 0.2, report.overall.uncovered_answered


def test_small_talk_rarely_reaches_staff(report: EvaluationReport) -> None:
    # 31 of the 91 held-out small-talk and praise messages are escalated (0.34), most of them
    # specific ("Ya estamos en la casa, los niños han salido corriendo hacia las dunas"); 5 of 47,
    # 5 of 44, 2 of 41 and 8 of 49 on the sets before.
    assert report.overall.small_talk_escalated.value <= 0.38, report.overall.small_talk_escalated


def test_requests_and_problems_reach_staff(report: EvaluationReport) -> None:
    figures = report.overall
    assert figures.action_routed.value >= 0.95, figures.action_routed
    # 124 of 125 (134 of 136 on the set before); emergencies urgent 20 of 21.
    assert figures.needs_staff_recall.value >= 0.97, figures.needs_staff_recall
    assert figures.emergency_urgent.value >= 0.85, figures.emergency_urgent
    # None of the 24 held-out ones is; one of an earlier set was ("can you do a tiramisu
    # cake for saturday for 10 people? with candles", from the cake entry, which books nothing).
    answered = [o for o in report.outcomes if o.message.kind == "action" and o.replied_item]
    assert len(answered) <= 0.05 * figures.action_routed.total, answered


def test_sentiment_on_comments(sentiment: evaluate_sentiment.SentimentFigures) -> None:
    assert sentiment.macro_f1 >= 0.85, sentiment.f1
    assert sentiment.attention_precision.value >= 0.9, sentiment.attention_precision
    assert sentiment.attention_recall.value >= 0.85, sentiment.attention_recall


def test_sentiment_on_guest_messages(report: EvaluationReport) -> None:
    # 0.86 of the held-out messages (342 of 397); 0.90 on the set before.
    assert report.overall.sentiment_accuracy.value >= 0.83, report.overall.sentiment_accuracy


def test_unhappy_guests_are_flagged_in_every_language(report: EvaluationReport) -> None:
    # 82 of the 92 held-out unhappy messages are flagged (0.83-0.96 per language), and 82 of the
    # 96 flags are on one (84 of 93 and 84 of 90 on the set before).
    assert report.overall.unhappy_flagged.value >= 0.85, report.overall.unhappy_flagged
    assert report.overall.flags_unhappy.value >= 0.82, report.overall.flags_unhappy
    for language in ("en", "es", "fr", "de"):
        figures = report.by_language[language]
        assert figures.unhappy_flagged.value >= 0.8, (language, figures.unhappy_flagged)


def test_wilson_interval() -> None:
    low, high = Ratio(8, 10).wilson()
    assert (round(low, 3), round(high, 3)) == (0.49, 0.943)
    assert Ratio(0, 0).wilson() == (0.0, 1.0)
    assert Ratio(0, 0).brief() == "-"


def test_render_and_main(report: EvaluationReport, capsys: pytest.CaptureFixture[str]) -> None:
    text = render(report)
    assert "precision of sent replies" in text
    assert "Misses" in text or not report.misses
    assert main(split="heldout", language="de", show_misses=False) == 0
    out = capsys.readouterr().out
    assert "Decision quality" in out
    assert "de (" in out
    assert "en (" not in out


KB = [
    {
        "id": "breakfast",
        "question": "When is breakfast served?",
        "answer": "Breakfast is served 7:00-10:30 am in the lobby restaurant.",
        "category": "food",
        "examples": ["What time is breakfast?", "¿A qué hora es el desayuno?"],
    },
    {
        "id": "parking",
        "question": "Is there parking?",
        "answer": "Yes, the garage costs 20 euros a night.",
        "category": "transport",
        "examples": ["Where can I park the car?"],
    },
]
MESSAGES = [
    {"text": "what time is breakfast served", "expected": "breakfast"},
    {"text": "Do you have a garage for my car?", "expected": "parking"},
    {"text": "Is there a spa?", "expected": None},
    {"text": "thanks!", "expected": None, "kind": "small_talk"},
    {"text": "I want to book a room for Friday", "expected": None, "kind": "action"},
]


def test_evaluates_any_knowledge_base(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    kb = tmp_path / "kb.json"
    kb.write_text(json.dumps(KB))
    messages = tmp_path / "messages.jsonl"
    messages.write_text("\n".join(json.dumps(m) for m in MESSAGES) + "\n")
    out = tmp_path / "decisions.jsonl"
    assert main(messages, kb, threshold=0.7, out=out) == 0
    assert "Decision quality (5 messages" in capsys.readouterr().out
    decisions = [json.loads(line) for line in out.read_text().splitlines()]
    assert [d["text"] for d in decisions] == [m["text"] for m in MESSAGES]
    assert set(decisions[0]) == {"text", "decision", "item", "confidence", "reason"}
    assert decisions[0]["decision"] == "reply"
    assert decisions[0]["item"] == "breakfast"
    assert decisions[2]["decision"] == "escalate"
    assert decisions[3]["decision"] == "skip"
    assert decisions[4]["decision"] == "escalate"
    report = run_evaluation(messages, kb)
    assert report.overall.action_routed == Ratio(1, 1)
    assert report.overall.small_talk_escalated == Ratio(0, 1)
    # A threshold nothing reaches sends nothing.
    strict = run_evaluation(messages, kb, AiSettings(confidence_threshold=1.0))
    assert strict.overall.precision.total == 0
    assert main(messages, kb, threshold=1.5) == 2


def test_sentiment_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labelled = tmp_path / "sentiment.jsonl"
    rows = [
        {"text": "The bathroom is flooded and nobody answers the phone", "label": "negative"},
        {"text": "Lovely stay, thank you!", "label": "positive"},
        {"text": "What time is check-in?", "label": "neutral"},
    ]
    labelled.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "scores.jsonl"
    assert evaluate_sentiment.main(labelled, out=out) == 0
    printed = capsys.readouterr().out
    assert "macro-F1" in printed
    assert "attention recall" in printed
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["label"] for s in scored] == ["negative", "positive", "neutral"]
    assert scored[0]["attention"] is True
    labelled.write_text('{"text": "hi", "label": "happy"}\n')
    assert evaluate_sentiment.main(labelled) == 2


def test_bad_data_is_a_clear_error(tmp_path: Path) -> None:
    broken = tmp_path / "messages.jsonl"
    broken.write_text('{"tenant": "aurora-hotels", "text": "hi"}\n')
    with pytest.raises(EvaluationDataError, match=":1:"):
        run_evaluation(broken, DEFAULT_KNOWLEDGE)
    broken.write_text('{"text": "hi", "expected": null, "kind": "chit-chat"}\n')
    with pytest.raises(EvaluationDataError, match="unknown kind"):
        run_evaluation(broken, DEFAULT_KNOWLEDGE)
    assert main(messages=broken) == 2
    assert main(messages=tmp_path / "missing.jsonl") == 2


def test_calibration_threshold_is_placed_on_unseen_rows() -> None:
    # One informative feature; right candidates score higher. Uncovered questions (never
    # right) sit among the right ones, so the cap on answering them binds.
    rng = np.random.default_rng(7)
    right = rng.random(400) < 0.7
    uncovered = ~right & (rng.random(400) < 0.5)
    signal = np.where(right, 1.0, -0.5) + rng.normal(0.0, 1.0, 400)
    x = np.column_stack([signal, rng.normal(0.0, 1.0, (400, len(FEATURE_NAMES) - 1))])
    y = right.astype(float)
    model = calibrate.fit(x, y, uncovered)
    z = (x - np.asarray(model.centre)) / np.asarray(model.scale)
    sent = z @ np.asarray(model.weights) + model.bias >= np.log(0.7 / 0.3)
    assert 0 < sent.sum() < len(y)
    # Fitted and scored on the same rows, the cut must hold at least as well as on unseen.
    assert y[sent].mean() >= calibrate.TARGET_PRECISION - 0.02
    assert uncovered[sent].sum() / uncovered.sum() <= calibrate.UNCOVERED_ANSWERED + 0.02
    assert model.weights[0] > 0


def test_cross_validation_decides_each_training_message_once(tmp_path: Path) -> None:
    kb = tmp_path / "kb.json"
    kb.write_text(json.dumps(KB))
    rows = [{**m, "split": "train"} for m in MESSAGES * 3]
    rows = [{**r, "text": f"{r['text']} ({n})"} for n, r in enumerate(rows)]
    rows.append({"text": "Is there a sauna?", "expected": None, "split": "heldout"})
    messages = tmp_path / "messages.jsonl"
    messages.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    report = calibrate.cross_validated(messages, kb)
    # Every training message once, the held-out one never.
    assert sorted(o.message.text for o in report.outcomes) == sorted(r["text"] for r in rows[:-1])
    assert report.overall.action_routed == Ratio(3, 3)
    assert calibrate.main(["--bogus"]) == 2


@pytest.mark.parametrize(
    ("text", "left"),
    [
        ("Le tiramisu était divin", True),
        ("soy Lucía, reservé para 4 personas esta noche", True),
        ("merci, à demain !", False),  # the rules skip it themselves
        ("the shower in room 12 is broken", False),  # a problem the patterns name
        ("I want to speak to a manager", False),
    ],
)
def test_statements_left_to_the_small_talk_model(text: str, left: bool) -> None:
    assert calibrate._left_to_small_talk(text) is left
