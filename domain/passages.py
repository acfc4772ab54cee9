"""Document passages as answer sources, beside the FAQ items: which passage answers a message.

A passage is not a question, so it is not matched like an FAQ item. Each passage has an e5
"passage:" embedding (computed once, when its document is processed); a guest message gets a
"query:" embedding and the closest passage is the candidate. Its confidence is a logistic of
that similarity (e5-small's cosines are compressed, roughly 0.78 for unrelated and 0.83-0.92
for answering text), nudged by how much of the message's vocabulary the passage contains, and
scaled down when the runner-up is nearly as close (an ambiguous message gets a person). A
"what time" question needs a time in the passage. Without embeddings the lexical share alone
ranks, with a lower ceiling.

``best_answer`` is the one rule joining both sources: the FAQ item when it is confident (what
the tenant wrote as an answer wins), else the passage when it is, else the surer of the two.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import numpy as np
import numpy.typing as npt

from domain.calibration import TIME_ANSWER, TIME_QUESTION
from domain.matching import KnowledgeEntry, KnowledgeMatcher, Match
from domain.semantic import Embedder, message_vector
from domain.text import content_tokens, fold

# Calibration of a passage's confidence, chosen on hand-written rules, menus and guides
# (tests/documents): the similarity at which confidence is one half, and how steeply it rises.
SIMILARITY_MIDPOINT = 0.825
SIMILARITY_STEEPNESS = 60.0
COVERAGE_WEIGHT = 1.5
# Lead over the runner-up passage needed for full confidence.
FULL_CONFIDENCE_MARGIN = 0.03
# Without embeddings, a passage explaining the whole message is still only this sure.
LEXICAL_CEILING = 0.75
# A passage that does not give the time asked for keeps at most this.
FAILED_CHECK_CONFIDENCE = 0.3
# What a reply quotes of a passage, at most.
MAX_QUOTE_CHARS = 600
PASSAGE_CATEGORY = "document"


@dataclass(frozen=True, slots=True)
class DocumentPassage:
    id: str | UUID
    document_id: str | UUID
    title: str  # the document's
    heading: str | None
    text: str
    vector: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True)
class PassageMatch:
    passage: DocumentPassage
    score: float  # similarity (or lexical share without embeddings)
    confidence: float

    def as_match(self) -> Match:
        """The passage as ``decide`` takes an answer: quoted, its document named."""
        passage = self.passage
        entry = KnowledgeEntry(
            id=passage.id,
            category=PASSAGE_CATEGORY,
            question=passage.heading or passage.title,
            answer=quote(passage),
            document=passage.title,
        )
        return Match(entry, self.score, self.confidence)


def quote(passage: DocumentPassage, *, limit: int = MAX_QUOTE_CHARS) -> str:
    """The passage as a reply quotes it: bounded, with the document's title."""
    text = " ".join(passage.text.split())
    if len(text) > limit:
        cut = text[: limit - 1]
        text = (cut[: cut.rfind(" ")] if " " in cut else cut).rstrip(" ,;:") + "…"
    return f"{text}\n(from “{passage.title}”)"


class PassageMatcher:
    """Ranks a tenant's passages against a guest message; immutable once built."""

    def __init__(
        self, passages: Sequence[DocumentPassage], *, embedder: Embedder | None = None
    ) -> None:
        self._passages = tuple(passages)
        self._terms = [frozenset(content_tokens(f"{p.heading or ''} {p.text}")) for p in passages]
        self._gives_time = [bool(TIME_ANSWER.search(fold(p.text))) for p in passages]
        vectors = [p.vector for p in passages]
        usable = (
            embedder is not None
            and bool(vectors)
            and all(v is not None for v in vectors)
            and len({v.shape for v in vectors if v is not None}) == 1
        )
        self._embedder = embedder if usable else None
        self._vectors = (
            np.vstack([v for v in vectors if v is not None]).astype(np.float32) if usable else None
        )
        document_frequency: dict[str, int] = {}
        for terms in self._terms:
            for term in terms:
                document_frequency[term] = document_frequency.get(term, 0) + 1
        count = len(passages)
        self._idf = {
            term: math.log(1.0 + (count - df + 0.5) / (df + 0.5))
            for term, df in document_frequency.items()
        }
        self._unknown_idf = max(self._idf.values(), default=1.0)

    def __len__(self) -> int:
        return len(self._passages)

    def best(self, text: str) -> PassageMatch | None:
        ranked = self.rank(text, limit=1)
        return ranked[0] if ranked else None

    def rank(self, text: str, limit: int = 3) -> list[PassageMatch]:
        """The closest passages, best first, each with its calibrated confidence."""
        if not self._passages or not text.strip():
            return []
        coverage = self._coverage(text)
        if self._vectors is not None and self._embedder is not None:
            query = message_vector(self._embedder, text).astype(np.float32)
            scores = (self._vectors @ query).astype(np.float64)
        else:
            scores = np.asarray(coverage, dtype=np.float64)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        asks_time = bool(TIME_QUESTION.search(fold(text)))
        matches: list[PassageMatch] = []
        for position, index in enumerate(order[:limit]):
            score = float(scores[index])
            below = float(scores[order[position + 1]]) if position + 1 < len(order) else 0.0
            confidence = self._confidence(score, score - below, coverage[index])
            if asks_time and not self._gives_time[index]:
                confidence = min(confidence, FAILED_CHECK_CONFIDENCE)
            if confidence <= 0.0 and self._vectors is None:
                continue
            matches.append(PassageMatch(self._passages[index], round(score, 4), confidence))
        return matches

    def _confidence(self, score: float, margin: float, coverage: float) -> float:
        lead = min(1.0, max(0.0, margin) / FULL_CONFIDENCE_MARGIN)
        if self._vectors is None:
            return round(LEXICAL_CEILING * coverage * lead, 4)
        z = SIMILARITY_STEEPNESS * (score - SIMILARITY_MIDPOINT) + COVERAGE_WEIGHT * coverage
        return round(lead / (1.0 + math.exp(-z)), 4)

    def _coverage(self, text: str) -> list[float]:
        """Per passage, the idf-weighted share of the message's words it contains."""
        query = set(content_tokens(text))
        weights = {t: self._idf.get(t, self._unknown_idf) for t in query}
        total = sum(weights.values())
        if not total:
            return [0.0] * len(self._passages)
        return [sum(w for t, w in weights.items() if t in terms) / total for terms in self._terms]


def best_answer(
    faq: KnowledgeMatcher, passages: PassageMatcher | None, text: str, *, threshold: float
) -> Match | None:
    """The answer ``decide`` weighs: a confident FAQ item first, then a confident passage,
    else the surer of the two (so a low-confidence escalation names the nearest source)."""
    item = faq.best(text)
    if passages is None or not len(passages) or (item and item.confidence >= threshold):
        return item
    found = passages.best(text)
    if found is None:
        return item
    if item is None or found.confidence >= threshold or found.confidence > item.confidence:
        return found.as_match()
    return item
