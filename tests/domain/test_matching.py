from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from domain.matching import FAILED_CHECK_CONFIDENCE, KnowledgeEntry, KnowledgeMatcher
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


def test_many_unrelated_entries_do_not_hide_the_one_that_answers() -> None:
    # How long a decision takes is the benchmark's to measure (``python -m bench``, the
    # decision phase), not a test's.
    entries = [
        KnowledgeEntry(f"item-{i}", "misc", f"Question {i} about topic{i}", "answer", (f"t{i}",))
        for i in range(45)
    ]
    big = KnowledgeMatcher([*entries, *ENTRIES])
    match = big.best("Is there parking near the hotel for our car?")
    assert match is not None
    assert match.entry.id == "parking"


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


class WordEmbedder:
    """A stand-in for a sentence embedding: one axis per concept word, so tests need no model."""

    AXES = ("breakfast", "parking", "dog", "wifi", "pool")
    SAME = {"brekkie": "breakfast", "motor": "parking", "doggo": "dog"}

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = []
        for text in texts:
            vector = np.full(len(self.AXES), 0.05, dtype=np.float32)
            for word in fold(text).replace("?", " ").split():
                word = self.SAME.get(word, word)
                if word in self.AXES:
                    vector[self.AXES.index(word)] += 1.0
            rows.append(vector / np.linalg.norm(vector))
        return np.vstack(rows)


def test_semantic_match_finds_what_no_word_shares() -> None:
    hybrid = KnowledgeMatcher(ENTRIES, embedder=WordEmbedder())
    # "brekkie" is no word the lexical matcher knows; the embedding knows it means breakfast.
    match = hybrid.best("brekkie")
    assert match is not None
    assert match.entry.id == "breakfast"
    assert matcher.best("brekkie") is None
    found = hybrid.features("brekkie")
    assert found is not None
    entry, features = found
    assert entry.id == "breakfast"
    assert features.similarity > 0.9
    assert features.margin > 0.3


def test_a_plain_lexical_match_needs_no_embedding() -> None:
    class Refusing(WordEmbedder):
        calls = 0

        def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            Refusing.calls += 1
            return super().embed(texts)

    hybrid = KnowledgeMatcher(ENTRIES, embedder=Refusing())
    after_index = Refusing.calls
    match = hybrid.best("What is the Wi-Fi password?")
    assert match is not None
    assert match.entry.id == "wifi"
    assert match.confidence >= 0.9
    assert Refusing.calls == after_index


def test_a_time_question_needs_a_time_in_the_answer() -> None:
    entries = (
        KnowledgeEntry("pool", "amenities", "Do you have a pool?", "Yes, on the roof.", ()),
        KnowledgeEntry("gym", "amenities", "Is there a gym?", "Open 6:00-22:00.", ()),
    )
    lexical = KnowledgeMatcher(entries)
    plain = lexical.best("Do you have a pool?")
    timed = lexical.best("What time does the pool open?")
    assert plain is not None
    assert plain.confidence >= 0.7
    assert timed is not None
    assert timed.entry.id == "pool"
    assert timed.confidence < 0.5


def test_a_price_question_needs_a_price_in_the_answer() -> None:
    entries = [
        KnowledgeEntry("pool", "leisure", "Is there a pool?", "Yes, on the roof."),
        KnowledgeEntry("parking", "car", "Is there parking?", "The garage costs €22 a night."),
        KnowledgeEntry("wifi", "internet", "Is there wifi?", "Free Wi-Fi everywhere."),
        KnowledgeEntry("breakfast", "food", "Breakfast?", "Gluten-free breads at breakfast."),
    ]
    matcher = KnowledgeMatcher(entries, embedder=WordEmbedder())
    lacking = {}
    for text in (
        "how much is the pool",
        "¿cuánto cuesta el parking?",
        "does the wifi cost extra",
        "Was kostet das Breakfast?",
    ):
        found = matcher.features(text)
        assert found is not None
        lacking[found[0].id] = found[1].answer_lacks_price
    # A price, or "free", answers what it costs; "gluten-free" does not.
    assert lacking == {"pool": True, "parking": False, "wifi": False, "breakfast": True}
    pool = matcher.best("how much is the pool")
    assert pool is not None
    assert pool.confidence <= FAILED_CHECK_CONFIDENCE


def test_what_time_how_many_and_chilly_are_not_price_questions() -> None:
    entries = [KnowledgeEntry("pool", "leisure", "Is there a pool?", "Yes, on the roof.")]
    matcher = KnowledgeMatcher(entries, embedder=WordEmbedder())
    asked = {
        # "wie viel Uhr" asks the time, "combien de minutes" a distance, "il fait frais" says
        # it is chilly: none asks a price, so the pool entry is not capped for lacking one.
        "ab wieviel Uhr ist der pool offen": False,
        "la pool est à combien de minutes à pied ?": False,
        "il fait frais le soir, la pool est chauffée ?": False,
        "wie viel kostet der pool": True,
        "c'est combien la pool ?": True,
        "y a-t-il des frais pour la pool ?": True,
    }
    found = {text: matcher.features(text) for text in asked}
    assert {text: f is not None and f[1].answer_lacks_price for text, f in found.items()} == asked


def test_check_out_is_not_answered_with_check_in() -> None:
    match = matcher.best("What time is checking out?")
    assert match is None or match.entry.id != "check-in-time" or match.confidence < 0.5


def test_an_english_question_about_something_no_entry_knows_is_not_answered() -> None:
    match = matcher.best("Is the parking heated?")
    assert match is not None
    assert match.entry.id == "parking"
    assert match.confidence < 0.5


def test_the_answer_decides_when_no_phrasing_does() -> None:
    # Neither question names a concept the message does; only one answer is about it.
    entries = [
        KnowledgeEntry("leisure", "leisure", "What can we do here?", "Swim in the pool all day"),
        KnowledgeEntry("food", "food", "Where can we eat?", "Breakfast is in the lobby"),
    ]
    hybrid = KnowledgeMatcher(entries, embedder=WordEmbedder())
    found = hybrid.features("pool")
    assert found is not None
    entry, features = found
    assert entry.id == "leisure"
    assert features.answer_agrees
    assert features.answer_similarity > features.similarity
    assert features.combined_margin > 0


def test_a_message_is_embedded_once() -> None:
    class Counting(WordEmbedder):
        texts: list[str] = []

        def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
            Counting.texts.extend(texts)
            return super().embed(texts)

    hybrid = KnowledgeMatcher(ENTRIES, embedder=Counting())
    built = len(Counting.texts)
    # Phrasings and answers are embedded when the matcher is built, not per message.
    assert built == sum(1 + len(e.example_questions) + 1 for e in ENTRIES)
    hybrid.best("brekkie please")
    assert Counting.texts[built:] == ["brekkie please"]


def test_the_checks_hold_for_a_match_the_embedding_found() -> None:
    # One category names both neighbours, as "Check-in & check-out" does; the embedding (a
    # stand-in that cannot tell arrival from departure) puts the check-in entry first.
    entries = (
        KnowledgeEntry("in", "check-in & check-out", "When is check-in?", "From 15:00.", ()),
        KnowledgeEntry("pool", "amenities", "Is there a pool?", "Yes, on the roof.", ()),
    )
    hybrid = KnowledgeMatcher(entries, embedder=WordEmbedder())
    found = hybrid.features("À quelle heure doit-on libérer le logement ?")
    assert found is not None
    entry, features = found
    assert entry.id == "in"
    assert features.opposite  # the message asks about check-out ("libérer")
    match = hybrid.best("À quelle heure doit-on libérer le logement ?")
    assert match is not None
    assert match.confidence <= 0.3


def test_words_are_read_in_the_message_s_language() -> None:
    # German and French function words go; inflected forms meet the vocabulary's word.
    assert content_tokens("Dürfen wir unsere Hunde mitbringen?") == ["pet", "mitbring"]
    assert content_tokens("Les chiens sont-ils acceptés ?") == ["pet", "accept"]
    assert content_tokens("¿Tienen toallas para la piscina?") == ["tien", "towel", "pool"]
    # English keeps its words whole but for a plural "s".
    assert content_tokens("Do you have towels for the pool?") == ["towel", "pool"]


def test_a_german_compound_is_read_through_the_words_it_is_made_of() -> None:
    assert content_tokens("Ist die Endreinigung inklusive?")[0] == "clean"
    assert content_tokens("Gibt es ein Zustellbett?") == ["bed"]
    assert content_tokens("Wie sind die Stornobedingungen?") == ["cancellation"]
    assert content_tokens("Bietet ihr einen Flughafenshuttle an?") == ["airport", "transfer"]
    # A word that merely ends like a known one is no compound of it.
    assert "smoke" not in content_tokens("Was brauchen wir beim Check-in?")
