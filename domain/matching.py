"""Knowledge-base matcher: which entry answers a guest's message, and how sure we are.

Two stages. Words first: BM25 over each entry's question, example questions and category,
blended with fuzzy phrase similarity (rapidfuzz) on normalized tokens (see ``domain.text``); a
plain lexical match settles the message with no model. Otherwise, when an embedder is given
(multilingual-e5-small, ``domain.semantic``), the message is embedded once and compared with
each entry's phrasings and answer, each language centred on its own mean phrasing. Build one
``KnowledgeMatcher`` per tenant and cache it (building embeds the entries once).

Confidence. The best entry's features (similarity to its phrasings and answer, the lead over
the runner-up, how much of the message the entry leaves unexplained, the same read in the
message's latent terms (``domain.semantic.Terms``: "is the pool heated?" shares the pool entry's
terms but not heating's, in any language), and for English the idf-weighted share of words it
contains) go through a logistic model fitted on the training
split (``domain.calibration``, refitted by ``python -m workers.calibrate``), so that
"confidence >= the tenant's threshold" reads as "very likely right"; two entries that explain
the message equally well mean it is ambiguous, and a wrong answer is worse than asking a human.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from uuid import UUID

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz

from domain.calibration import (
    CALIBRATION,
    GENERIC_WORDS,
    PRICE_ANSWER,
    PRICE_QUESTION,
    TIME_ANSWER,
    TIME_QUESTION,
    AnswerChecks,
    Calibration,
    MatchFeatures,
)
from domain.semantic import Embedder, SemanticIndex, sentences
from domain.text import OPPOSITES, content_tokens, fold, guess_language

# BM25 parameters (Robertson's usual values).
BM25_K1 = 1.2
BM25_B = 0.75
# Relevance blend: coverage says "this entry is about what the guest asked"; fuzzy similarity
# rewards a phrasing close to one the tenant wrote. BM25 itself only orders entries: its scale
# depends on the message, so it says nothing absolute. The constants below were chosen on the
# labelled messages in tests/eval (see `frontdesk eval`), favouring precision over coverage.
COVERAGE_WEIGHT = 0.5
FUZZY_WEIGHT = 0.5
# Logistic calibration of relevance: the relevance at which confidence is 0.5 and steepness.
CONFIDENCE_MIDPOINT = 0.45
CONFIDENCE_STEEPNESS = 12.0
# Relative lead over the runner-up needed for full confidence; a smaller lead scales it down,
# down to zero for a tie, because a tie means the message is ambiguous.
FULL_CONFIDENCE_MARGIN = 0.3
# Fuzzy similarity (0-1) at which the message is taken to be one of an entry's own phrasings.
EXACT_PHRASE = 0.97


# Hybrid decision (see ``KnowledgeMatcher.best``). A lexical confidence this high settles the
# match without an embedding.
DECISIVE_LEXICAL = 0.9
# Confidence a match keeps when a check says it does not answer the question: under any
# sensible threshold, so the guest gets a person instead.
FAILED_CHECK_CONFIDENCE = 0.3
# How the semantic candidate is chosen: phrasing similarity (standardised over the tenant's
# entries) plus these weights times the answer similarity (standardised) and the lexical
# relevance. Chosen by cross-validation on the training split of the labelled messages.
ANSWER_WEIGHT = 0.3
LEXICAL_WEIGHT = 2.0


@dataclass(frozen=True, slots=True)
class KnowledgeEntry:
    id: str | UUID
    category: str
    question: str
    answer: str
    example_questions: tuple[str, ...] = ()
    # The title of the document a passage comes from (``domain.passages``); None for an item.
    document: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    entry: KnowledgeEntry
    score: float  # relevance in [0, 1], comparable across messages
    confidence: float  # calibrated, in [0, 1]


@dataclass(frozen=True, slots=True)
class _Indexed:
    entry: KnowledgeEntry
    term_counts: Counter[str]
    length: int
    phrases: tuple[str, ...]  # normalized question and example questions, for fuzzy matching
    answer_terms: frozenset[str]
    answer_gives_time: bool
    answer_gives_price: bool
    # The words of the entry's own phrasings and answer: not its category's, whose name
    # ("Check-in & check-out") speaks of its neighbours too.
    own_terms: frozenset[str]


class KnowledgeMatcher:
    """Ranks a tenant's knowledge entries against a guest message; immutable once built."""

    def __init__(
        self,
        entries: Iterable[KnowledgeEntry],
        *,
        embedder: Embedder | None = None,
        calibration: Calibration = CALIBRATION,
    ) -> None:
        # ``calibration``: the fitted confidence model; another one only to measure it on
        # messages it was not fitted on (``workers.calibrate``).
        self._calibration = calibration
        indexed: list[_Indexed] = []
        for entry in entries:
            phrasings = (entry.question, *entry.example_questions)
            tokens = [t for p in phrasings for t in content_tokens(p)]
            tokens += content_tokens(entry.category.replace("-", " "))
            phrases = tuple(" ".join(content_tokens(p)) for p in phrasings)
            answer_terms = frozenset(content_tokens(entry.answer))
            folded_answer = fold(entry.answer)
            gives_time = bool(TIME_ANSWER.search(folded_answer))
            gives_price = bool(PRICE_ANSWER.search(folded_answer))
            own = frozenset(t for p in phrasings for t in content_tokens(p)) | answer_terms
            indexed.append(
                _Indexed(
                    entry,
                    Counter(tokens),
                    len(tokens),
                    phrases,
                    answer_terms,
                    gives_time,
                    gives_price,
                    own,
                )
            )
        self._indexed = tuple(indexed)
        self._known_terms = frozenset(
            t for item in indexed for t in (*item.term_counts, *item.answer_terms)
        )
        self._semantic = (
            SemanticIndex(
                [(i.entry.question, *i.entry.example_questions) for i in indexed],
                embedder,
                answers=[i.entry.answer for i in indexed],
            )
            if embedder is not None and indexed
            else None
        )
        count = len(indexed)
        self._average_length = sum(i.length for i in indexed) / count if count else 0.0
        document_frequency: Counter[str] = Counter()
        for item in indexed:
            document_frequency.update(item.term_counts.keys())
        self._idf = {
            term: math.log(1.0 + (count - df + 0.5) / (df + 0.5))
            for term, df in document_frequency.items()
        }
        # A word no entry uses weighs like the rarest known word: after stop words, dates and
        # times are gone, it is most likely the real topic ("helipad", "truffle"), and no entry
        # explains it.
        self._unknown_idf = max(self._idf.values(), default=1.0)

    def __len__(self) -> int:
        return len(self._indexed)

    def best(self, text: str) -> Match | None:
        """The best entry for ``text`` with its calibrated confidence, or None if nothing fits.

        Lexical ranking alone settles a message that one entry's phrasing plainly matches
        (confidence >= ``DECISIVE_LEXICAL`` and the answer checks pass). Otherwise, with an
        embedder, the candidate is the entry closest to the message by its phrasings, its
        answer and the words they share (``ANSWER_WEIGHT``, ``LEXICAL_WEIGHT``; the message is
        embedded once), and its confidence is the calibrated probability that it is right
        (``domain.calibration``), from: similarity to phrasings and answer and the lead over
        the runner-up, how much of the message the entry's phrasings and answer leave
        unexplained, whether the lexical ranking agrees, how much of the message no entry
        knows, and the answer checks ("what time" needs a time in the answer, "how much" a
        price or "free"; a check-in entry does not answer a check-out question).
        """
        text = focus(text)
        ranked = self.rank(text, limit=len(self._indexed))
        lexical = ranked[0] if ranked else None
        if lexical is not None:
            lexical_checks = self._checks(text, lexical.entry)
            if self._semantic is None or (
                lexical.confidence >= DECISIVE_LEXICAL and not lexical_checks.failed
            ):
                if lexical_checks.failed:
                    return replace(
                        lexical, confidence=min(lexical.confidence, FAILED_CHECK_CONFIDENCE)
                    )
                return lexical
        found = self._semantic_candidate(text, ranked)
        if found is None:
            return None
        entry, features = found
        confidence = self._calibration.probability(features)
        if features.opposite or features.answer_lacks_time or features.answer_lacks_price:
            # The checks hold whichever way the entry was found: a check-in entry never
            # answers a check-out question, nor an entry without a time a "what time" one,
            # nor one without a price a "how much" one.
            confidence = min(confidence, FAILED_CHECK_CONFIDENCE)
        return Match(entry, round(features.similarity, 4), round(confidence, 4))

    def features(self, text: str) -> tuple[KnowledgeEntry, MatchFeatures] | None:
        """The semantic candidate and what its calibrated confidence is computed from."""
        text = focus(text)
        return self._semantic_candidate(text, self.rank(text, limit=len(self._indexed)))

    def _semantic_candidate(
        self, text: str, ranked: Sequence[Match]
    ) -> tuple[KnowledgeEntry, MatchFeatures] | None:
        if self._semantic is None:
            return None
        compared = self._semantic.compare(text)
        phrasings, answers = compared.phrasings, compared.answers
        relevance = {m.entry.id: m.score for m in ranked}
        lexical = np.asarray([relevance.get(i.entry.id, 0.0) for i in self._indexed])
        phrasing_z, answer_z = _standardised(phrasings), _standardised(answers)
        # The candidate: close to the entry's phrasings first, then to its answer, then
        # sharing the message's words; each signal catches what the others miss.
        combined = phrasing_z + ANSWER_WEIGHT * answer_z + LEXICAL_WEIGHT * lexical
        best = int(np.argmax(combined))
        entry = self._indexed[best].entry
        similarity = float(phrasings[best])
        others = np.delete(np.arange(len(combined)), best)
        checks = self._checks(text, entry)
        return entry, MatchFeatures(
            similarity=similarity,
            margin=_lead(phrasings, best),
            similarity_z=float(phrasing_z[best]),
            lexical_agrees=bool(ranked) and ranked[0].entry.id == entry.id,
            lexical_confidence=next((m.confidence for m in ranked if m.entry.id == entry.id), 0.0),
            lexical_relevance=float(lexical[best]),
            unknown_share=checks.unknown_share,
            explained=checks.explained,
            answer_lacks_time=checks.answer_lacks_time,
            answer_lacks_price=checks.answer_lacks_price,
            opposite=checks.opposite,
            english=checks.english,
            answer_similarity=float(answers[best]),
            answer_similarity_z=float(answer_z[best]),
            answer_agrees=int(np.argmax(answers)) == best,
            combined_margin=(
                float(combined[best] - combined[others].max()) if len(others) else 1.0
            ),
            combined_score=float(combined[best]),
            plain_similarity=float(compared.plain[best]),
            plain_margin=_lead(compared.plain, best),
            unexplained=float(compared.unexplained[best]),
            length=math.log1p(len(text.split())),
            term_similarity=float(compared.term_phrasings[best]),
            term_margin=_lead(compared.term_phrasings, best),
            term_answer_similarity=float(compared.term_answers[best]),
            term_covered=float(compared.term_covered[best]),
        )

    def _checks(self, text: str, entry: KnowledgeEntry) -> AnswerChecks:
        item = next(i for i in self._indexed if i.entry.id == entry.id)
        folded = fold(text)
        terms = content_tokens(text)
        query = set(terms)
        unknown = [
            t for t in terms if t not in self._known_terms and t not in GENERIC_WORDS and len(t) > 3
        ]
        weights = {t: self._idf.get(t, self._unknown_idf) for t in query}
        explained = sum(
            w for t, w in weights.items() if t in item.term_counts or t in item.answer_terms
        )
        return AnswerChecks(
            explained=explained / sum(weights.values()) if weights else 0.0,
            answer_lacks_time=bool(TIME_QUESTION.search(folded)) and not item.answer_gives_time,
            answer_lacks_price=bool(PRICE_QUESTION.search(folded)) and not item.answer_gives_price,
            opposite=any(
                (one in query and other not in query)
                and (other in item.own_terms and one not in item.own_terms)
                for pair in OPPOSITES
                for one, other in (pair, pair[::-1])
            ),
            unknown_share=len(unknown) / len(terms) if terms else 0.0,
            english=guess_language(text) == "en",
        )

    def rank(self, text: str, limit: int = 5) -> list[Match]:
        """Entries that share at least one word with ``text``, best first."""
        query = list(dict.fromkeys(content_tokens(text)))
        if not query or not self._indexed:
            return []
        query_phrase = " ".join(query)
        weights = {t: self._idf.get(t, self._unknown_idf) for t in query}
        total_weight = sum(weights.values())
        bm25 = [self._bm25(query, item) for item in self._indexed]
        top_bm25 = max(bm25)
        if top_bm25 <= 0.0:
            return []
        scored: list[tuple[float, float, _Indexed, float]] = []
        for item, raw in zip(self._indexed, bm25, strict=True):
            if raw <= 0.0:
                continue
            covered = sum(w for t, w in weights.items() if t in item.term_counts)
            coverage = covered / total_weight
            similarity = max(fuzz.token_sort_ratio(query_phrase, p) for p in item.phrases) / 100
            relevance = COVERAGE_WEIGHT * coverage + FUZZY_WEIGHT * similarity
            scored.append((relevance, raw, item, similarity))
        scored.sort(key=lambda row: (row[0], row[1]), reverse=True)
        matches: list[Match] = []
        for position, (relevance, _, item, similarity) in enumerate(scored[:limit]):
            # Every entry is measured against the one ranked below it; for the best that is the
            # runner-up.
            below = scored[position + 1] if position + 1 < len(scored) else None
            runner_up = below[0] if below else 0.0
            margin = (relevance - runner_up) / relevance if relevance > 0 else 0.0
            if similarity >= EXACT_PHRASE and (below is None or below[3] < EXACT_PHRASE):
                # The guest wrote one of this entry's own phrasings and of no other entry's:
                # a near neighbour ("check-in" vs "check-out") does not make that ambiguous.
                margin = 1.0
            matches.append(Match(item.entry, round(relevance, 4), _confidence(relevance, margin)))
        return matches

    def _bm25(self, query: Sequence[str], item: _Indexed) -> float:
        score = 0.0
        norm = BM25_K1 * (1 - BM25_B + BM25_B * item.length / (self._average_length or 1.0))
        for term in query:
            frequency = item.term_counts.get(term, 0)
            if frequency:
                score += self._idf[term] * frequency * (BM25_K1 + 1) / (frequency + norm)
        return score


def focus(text: str) -> str:
    """The sentences of ``text`` that ask something, when it also says other things.

    "Our train gets in at 10:30. Any chance the room is ready before lunch?" is matched by its
    question: the story around it is no entry's business, and would only leave more of the
    message unexplained. A message with no question mark, or nothing but questions, is kept
    whole. (Cross-validated on the training split when it was added: coverage 0.59 -> 0.62,
    precision 0.968 -> 0.974, questions no entry covers answered 0.036 -> 0.027.)
    """
    parts = sentences(text)
    asking = [part for part in parts if "?" in part]
    if len(parts) < 2 or not asking or len(asking) == len(parts):
        return text
    return " ".join(asking)


def _lead(values: npt.NDArray[np.float64], best: int) -> float:
    """How far ``values[best]`` is ahead of the best other value (itself when it is alone)."""
    others = np.delete(values, best)
    return float(values[best] - others.max()) if len(others) else float(values[best])


def _standardised(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each value in standard deviations above the mean (all zero when they are equal)."""
    spread = float(values.std())
    if spread == 0.0:
        return np.zeros_like(values)
    standardised: npt.NDArray[np.float64] = (values - values.mean()) / spread
    return standardised


def _confidence(relevance: float, margin: float) -> float:
    absolute = 1.0 / (1.0 + math.exp(-CONFIDENCE_STEEPNESS * (relevance - CONFIDENCE_MIDPOINT)))
    return round(absolute * min(1.0, margin / FULL_CONFIDENCE_MARGIN), 4)
