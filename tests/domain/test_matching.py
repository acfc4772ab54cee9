from __future__ import annotations

import time

import pytest

from domain.matching import KnowledgeEntry, KnowledgeMatcher
from domain.text import content_tokens, fold

ENTRIES = (
    KnowledgeEntry(
        "check-in-time",
        "check-in",
        "What time is check-in?",
        "From 3 pm.",
        ("When can I check in?", "¿A qué hora es el check-in?"),
    ),
    KnowledgeEntry(
        "wifi",
        "amenities",
        "What is the Wi-Fi password?",
        "It is on your key card.",
        ("How do I connect to the internet?",),
    ),
    KnowledgeEntry(
        "parking",
        "transport",
        "Is there parking?",
        "Yes, €22 per night.",
        ("Where can I park my car?",),
    ),
    KnowledgeEntry(
        "breakfast",
        "amenities",
        "When is breakfast served?",
        "7:00-10:30.",
        ("What time is breakfast?",),
    ),
    KnowledgeEntry(
        "pets", "policies", "Are pets allowed?", "Dogs up to 15 kg.", ("Can I bring my dog?",)
    ),
)
matcher = KnowledgeMatcher(ENTRIES)


@pytest.mark.parametrize(
    "variant", ["check in", "check-in", "checkin", "llegada", "arrivée", "Anreise", "CHECK-IN"]
)
def test_arrival_words_meet(variant: str) -> None:
    assert content_tokens(variant) == ["checkin"]


def test_fold_strips_accents_and_case() -> None:
    assert fold("Arrivée FRÜHSTÜCK") == "arrivee fruhstuck"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what's the wifi password", "wifi"),
        ("Quel est le mot de passe du wifi ?", "wifi"),
        ("Can we park the car at the hotel?", "parking"),
        ("Wann gibt es Frühstück?", "breakfast"),
        ("¿Se admiten perros?", "pets"),
        ("From what time can we check in?", "check-in-time"),
    ],
)
def test_best_finds_the_entry_with_high_confidence(text: str, expected: str) -> None:
    match = matcher.best(text)
    assert match is not None
    assert match.entry.id == expected
    assert match.confidence >= 0.7


@pytest.mark.parametrize(
    "text", ["Do you have a helipad?", "Can you recommend a cathedral tour?", "", "the and of"]
)
def test_unrelated_messages_get_no_confident_match(text: str) -> None:
    match = matcher.best(text)
    assert match is None or match.confidence < 0.5


def test_ambiguous_message_has_low_confidence() -> None:
    # "time" alone fits check-in and breakfast equally: a tie is not an answer.
    match = matcher.best("what time?")
    assert match is not None
    assert match.confidence < 0.5


def test_rank_orders_and_limits() -> None:
    ranked = matcher.rank("what time is breakfast and check in", limit=2)
    assert len(ranked) == 2
    assert ranked[0].score >= ranked[1].score
    assert {m.entry.id for m in ranked} == {"breakfast", "check-in-time"}
    assert all(0.0 <= m.confidence <= 1.0 for m in ranked)


def test_empty_knowledge_base_matches_nothing() -> None:
    assert KnowledgeMatcher([]).best("wifi") is None
    assert len(KnowledgeMatcher([])) == 0


def test_matching_is_fast_enough_for_a_hot_consumer() -> None:
    entries = [
        KnowledgeEntry(f"item-{i}", "misc", f"Question {i} about topic{i}", "answer", (f"t{i}",))
        for i in range(45)
    ]
    big = KnowledgeMatcher([*entries, *ENTRIES])
    started = time.perf_counter()
    for _ in range(500):
        big.best("Is there parking near the hotel for our car?")
    per_second = 500 / (time.perf_counter() - started)
    assert per_second > 1000, per_second


def test_a_neighbour_does_not_make_an_entry_s_own_phrasing_ambiguous() -> None:
    matcher = KnowledgeMatcher(
        [
            KnowledgeEntry("in", "check-in", "What time is check-in?", "From 15:00."),
            KnowledgeEntry("out", "check-out", "What time is check-out?", "Until 11:00."),
        ]
    )
    for text, expected in (("What time is check-in?", "in"), ("what time is check-out", "out")):
        best = matcher.best(text)
        assert best is not None
        assert best.entry.id == expected
        assert best.confidence >= 0.9
    # Neither phrasing: "time" alone is still ambiguous between the two.
    vague = matcher.best("what time?")
    assert vague is None or vague.confidence < 0.5
