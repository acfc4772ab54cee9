from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from domain.semantic import SemanticIndex, Terms, configure_shared_embedder, shared_embedder

# A stand-in embedding with what a multilingual one has too: a topic direction and a strong
# direction per language that every text in that language shares.
TOPICS = {"pets": ("pet", "hund"), "breakfast": ("breakfast", "frühstück"), "parking": ("park",)}
GERMAN = ("gibt", "wann", "sind", "kann", "wo ")
LANGUAGE_WEIGHT = 2.0


class LanguageHeavyEmbedder:
    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = []
        for text in texts:
            lowered = text.lower()
            topic = [float(any(w in lowered for w in words)) for words in TOPICS.values()]
            german = any(w in lowered for w in GERMAN)
            language = [LANGUAGE_WEIGHT * german, LANGUAGE_WEIGHT * (not german)]
            row = np.asarray(topic + language, dtype=np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.vstack(rows)


PHRASINGS = [
    ("Are pets allowed?", "Can I bring my dog?"),
    ("When is breakfast?", "Wann gibt es Frühstück?", "Gibt es Frühstück im Zimmer?"),
    ("Is there parking?", "Wo kann ich parken?", "Gibt es einen Parkplatz?"),
]


def test_a_question_meets_its_entry_across_languages() -> None:
    index = SemanticIndex(PHRASINGS, LanguageHeavyEmbedder())
    compared = index.compare("Sind Hunde erlaubt?")
    # As embedded, the German message is nearest any German phrasing, whatever it asks...
    assert int(np.argmax(compared.plain)) != 0
    # ...centred on each language's mean phrasing, it is nearest the entry about pets.
    assert int(np.argmax(compared.phrasings)) == 0
    assert compared.phrasings[0] > 0.9


def test_a_language_with_few_phrasings_is_centred_on_all_of_them() -> None:
    # One French phrasing: its own mean would erase it, so it is centred like the rest.
    phrasings = [("Are pets allowed?", "Les animaux sont-ils admis ?"), ("Is there parking?",)]
    index = SemanticIndex(phrasings, LanguageHeavyEmbedder())
    compared = index.compare("Are pets allowed?")
    assert int(np.argmax(compared.phrasings)) == 0
    assert np.all(np.isfinite(compared.phrasings))


def test_a_question_asking_more_than_the_entry_says_is_left_partly_unexplained() -> None:
    index = SemanticIndex(PHRASINGS, LanguageHeavyEmbedder())
    paraphrase = index.compare("Are pets allowed?")
    more = index.compare("Can I park next to the pet area?")
    assert paraphrase.unexplained[0] < 0.01
    assert more.unexplained[0] > 0.3
    # The parking entry explains the parking part, not the pets part.
    assert more.unexplained[2] > 0.3


# Latent terms as a stand-in: one term per known word, whatever the language it is written in.
CONCEPTS = {"pool": ("pool", "piscina"), "heated": ("heated", "climatizada"), "open": ("open",)}


class ConceptEmbedder(LanguageHeavyEmbedder):
    def terms(self, texts: Sequence[str]) -> list[Terms]:
        found = []
        for text in texts:
            lowered = text.lower()
            used = [
                i for i, words in enumerate(CONCEPTS.values()) if any(w in lowered for w in words)
            ]
            found.append(Terms(np.asarray(used, np.int32), np.ones(len(used), np.float32)))
        return found


POOL = [("When is the pool open?",), ("Is there parking?",)]
POOL_ANSWERS = ["The pool is open from 7 am.", "Yes, parking is free."]


def test_latent_terms_tell_what_of_a_question_the_entry_speaks_of() -> None:
    index = SemanticIndex(POOL, ConceptEmbedder(), answers=POOL_ANSWERS)
    heated = index.compare("¿La piscina está climatizada?")
    # Half of the question (the pool) is what the pool entry speaks of; heating is not.
    assert heated.term_covered.tolist() == [0.5, 0.0]
    # {pool, heated} against {pool, open}: one shared term of two each.
    assert heated.term_phrasings[0] == pytest.approx(0.5)
    assert heated.term_answers[0] == pytest.approx(0.5)
    opening = index.compare("pool open?")
    assert opening.term_covered.tolist() == [1.0, 0.0]
    assert opening.term_phrasings[0] == pytest.approx(1.0)


def test_without_latent_terms_their_readings_are_zero() -> None:
    compared = SemanticIndex(POOL, LanguageHeavyEmbedder(), answers=POOL_ANSWERS).compare("pool?")
    assert not compared.term_covered.any()
    assert not compared.term_phrasings.any()
    # A message with no term at all is covered by nothing.
    empty = SemanticIndex(POOL, ConceptEmbedder(), answers=POOL_ANSWERS).compare("hello")
    assert empty.term_covered.tolist() == [0.0, 0.0]
    assert empty.term_phrasings.tolist() == [0.0, 0.0]


def test_the_shared_embedders_threads_are_set_before_it_loads() -> None:
    with pytest.raises(ValueError, match="at least one thread"):
        configure_shared_embedder(threads=0)
    embedder = shared_embedder()
    assert embedder is not None
    threads = embedder.threads
    # The same count again changes nothing; another is refused, as the model has read it.
    configure_shared_embedder(threads=threads)
    with pytest.raises(RuntimeError, match=f"already computes with {threads} thread"):
        configure_shared_embedder(threads=threads + 1)
    assert shared_embedder() is embedder
