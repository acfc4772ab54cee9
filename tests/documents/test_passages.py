"""Document passages as answer sources (domain.passages), with a fake embedder: the FAQ keeps
its answers, a confident passage answers what the FAQ cannot, and the reply quotes it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from domain.autoreply import AiSettings, Escalate, Reply, decide
from domain.events import SentimentLabel
from domain.matching import KnowledgeEntry, KnowledgeMatcher
from domain.passages import (
    MAX_QUOTE_CHARS,
    DocumentPassage,
    PassageMatcher,
    best_answer,
    quote,
)
from domain.semantic import Vectors
from domain.sentiment import SentimentResult

TOPICS = ("cooking", "truffle", "lost", "loyalty")
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NEUTRAL = SentimentResult(0.0, SentimentLabel.NEUTRAL)


class TopicEmbedder:
    """A vector per topic word the text names; similarity 0.9 for the same topic, 0.78 else."""

    def embed(self, texts: Sequence[str]) -> Vectors:
        return np.vstack([vector_of(text) for text in texts])


def vector_of(text: str) -> Vectors:
    lowered = text.lower()
    vector = np.full(len(TOPICS) + 1, 0.0, dtype=np.float32)
    vector[-1] = 1.0
    for index, topic in enumerate(TOPICS):
        if topic in lowered:
            vector[index] = 0.6
    return (vector / np.linalg.norm(vector)).astype(np.float32)


def passage(topic: str, text: str) -> DocumentPassage:
    return DocumentPassage(
        id=f"p-{topic}",
        document_id="d",
        title="Guest guide",
        heading=topic.title(),
        text=text,
        vector=vector_of(f"{topic} {text}"),
    )


PASSAGES = [
    passage("cooking", "Every Saturday at 10:00 our chef teaches a pasta class, 60 euros."),
    passage("truffle", "A white truffle tasting menu of five courses for 85 euros."),
    passage("lost", "Things left behind are kept at the desk; call us to collect them."),
]
FAQ = [
    KnowledgeEntry("opening-hours", "visit", "What are your opening hours?", "12:00-15:00."),
    KnowledgeEntry("wine", "food", "Can I bring my own wine?", "Yes, 15 euros corkage."),
]


def test_with_no_documents_the_faq_match_is_exactly_the_faq_matchers() -> None:
    faq = KnowledgeMatcher(FAQ)
    for text in ("What are your opening hours?", "cooking class?", "helipad"):
        assert best_answer(faq, None, text, threshold=0.7) == faq.best(text)
        empty = PassageMatcher([], embedder=TopicEmbedder())
        assert best_answer(faq, empty, text, threshold=0.7) == faq.best(text)


def test_a_confident_faq_item_wins_over_a_passage() -> None:
    faq = KnowledgeMatcher(FAQ)
    passages = PassageMatcher(PASSAGES, embedder=TopicEmbedder())

    match = best_answer(faq, passages, "What are your opening hours?", threshold=0.7)

    assert match is not None
    assert match.entry.id == "opening-hours"
    assert match.entry.document is None


def test_a_confident_passage_answers_what_the_faq_does_not() -> None:
    faq = KnowledgeMatcher(FAQ)
    passages = PassageMatcher(PASSAGES, embedder=TopicEmbedder())

    match = best_answer(faq, passages, "Do you run a cooking class?", threshold=0.7)

    assert match is not None
    assert match.entry.id == "p-cooking"
    assert match.confidence >= 0.7
    decision = decide(
        text="Do you run a cooking class?",
        sentiment=NEUTRAL,
        settings=AiSettings(),
        match=match,
        human_takeover=False,
        now=NOW,
    )
    assert isinstance(decision, Reply)
    assert (decision.reason, decision.source) == ("document_match", "passage")
    assert "our chef teaches a pasta class" in decision.text
    assert "Guest guide" in decision.text


def test_a_message_no_passage_is_close_to_escalates_as_low_confidence() -> None:
    faq = KnowledgeMatcher(FAQ)
    passages = PassageMatcher(PASSAGES, embedder=TopicEmbedder())

    match = best_answer(faq, passages, "Is there a helipad?", threshold=0.7)
    decision = decide(
        text="Is there a helipad?",
        sentiment=NEUTRAL,
        settings=AiSettings(),
        match=match,
        human_takeover=False,
        now=NOW,
    )

    assert isinstance(decision, Escalate)
    assert decision.reason == "low_confidence"


def test_two_equally_close_passages_make_the_message_ambiguous() -> None:
    twins = [passage("cooking", "Class A."), passage("cooking", "Class B.")]
    matcher = PassageMatcher(twins, embedder=TopicEmbedder())

    found = matcher.best("cooking")

    assert found is not None
    assert found.confidence == 0.0


def test_a_what_time_question_needs_a_time_in_the_passage() -> None:
    matcher = PassageMatcher(PASSAGES, embedder=TopicEmbedder())

    lost = matcher.best("What time can I collect my lost scarf?")
    cooking = matcher.best("What time does the cooking class start?")

    assert lost is not None
    assert lost.confidence <= 0.3
    assert cooking is not None
    assert cooking.confidence >= 0.7


def test_without_embeddings_passages_are_ranked_by_their_words() -> None:
    matcher = PassageMatcher([*PASSAGES], embedder=None)

    found = matcher.best("truffle tasting menu price")

    assert found is not None
    assert found.passage.id == "p-truffle"
    assert 0 < found.confidence <= 0.75


def test_a_quote_is_bounded_and_names_the_document() -> None:
    long = DocumentPassage("p", "d", "House rules", None, "word " * 400)

    quoted = quote(long)

    body, source = quoted.rsplit("\n", 1)
    assert len(body) <= MAX_QUOTE_CHARS
    assert body.endswith("…")
    assert source == "(from “House rules”)"
