"""How sure the matcher is: answer checks and a calibrated confidence for a semantic match.

A multilingual embedding finds the entry closest to a guest's message, but "closest" is not
"answers it": "Is the pool heated?" is closest to the pool entry, which says nothing about
heating. The confidence of such a match is the probability that the entry is the right answer,
from a logistic model over a few signals (``MatchFeatures``) fitted on the training split of the
labelled messages (``python -m workers.calibrate``); its weights and the answer checks' word
lists are data (``domain/data/matching.json``). So "confidence >= the tenant's threshold" reads
as "right at least that often" on messages like the labelled ones.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields
from importlib import resources
from typing import Any


def _load() -> dict[str, Any]:
    data = resources.files("domain.data").joinpath("matching.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


_DATA = _load()
# The guest asks when; the answer must then name a time.
TIME_QUESTION = re.compile(_DATA["time_question"])
TIME_ANSWER = re.compile(_DATA["time_answer"])
# The guest asks what something costs; the answer must then name a price, or say it is free.
PRICE_QUESTION = re.compile(_DATA["price_question"])
PRICE_ANSWER = re.compile(_DATA["price_answer"])
# Words that ask nothing by themselves: a message may use them although no entry does.
GENERIC_WORDS: frozenset[str] = frozenset(_DATA["generic_words"].split())


@dataclass(frozen=True, slots=True)
class AnswerChecks:
    explained: float  # idf-weighted share of the message's words the entry or its answer uses
    answer_lacks_time: bool  # "what time ...?" and the answer names no time
    answer_lacks_price: bool  # "how much ...?" and the answer names no price (nor "free")
    opposite: bool  # the message is about check-out, the entry about check-in (or reverse)
    unknown_share: float  # share of the message's words that no entry (nor answer) knows
    english: bool

    @property
    def failed(self) -> bool:
        # Unknown words tell only in English, the language the entries are written in; in
        # another language most words are unknown to them.
        return (
            self.answer_lacks_time
            or self.answer_lacks_price
            or self.opposite
            or (self.english and self.unknown_share > 0)
        )


@dataclass(frozen=True, slots=True)
class MatchFeatures:
    similarity: float  # cosine of the message to the entry's closest phrasing
    margin: float  # lead of that cosine over the best other entry's (negative when behind)
    similarity_z: float  # that cosine in standard deviations above the tenant's entries' mean
    lexical_agrees: bool  # the lexical ranking puts the same entry first
    lexical_confidence: float  # the lexical confidence of this entry
    lexical_relevance: float  # the lexical relevance of this entry (0 when no word is shared)
    unknown_share: float
    explained: float
    answer_lacks_time: bool
    opposite: bool
    english: bool
    answer_similarity: float  # cosine of the message to the entry's answer
    answer_similarity_z: float  # the same, in standard deviations above the answers' mean
    answer_agrees: bool  # no other entry's answer is closer to the message
    combined_margin: float  # lead of the entry's combined score over the runner-up's
    combined_score: float  # the score the candidate was chosen by (``domain.matching``)
    plain_similarity: float  # cosine of the message to the closest phrasing, not centred
    plain_margin: float  # lead of that cosine over the best other entry's
    unexplained: float  # what of the message the entry's phrasings and answer do not span
    length: float = 0.0  # how long the message is: log(1 + words)
    answer_lacks_price: bool = False
    # The same read in latent terms (``domain.semantic.Terms``; 0 without them): the cosine to
    # the closest phrasing and its lead over the best other entry's, the cosine to the answer,
    # and the share of the message's term weight the entry's phrasings and answer use.
    term_similarity: float = 0.0
    term_margin: float = 0.0
    term_answer_similarity: float = 0.0
    term_covered: float = 0.0

    def vector(self) -> list[float]:
        """The model's inputs; the lexical signals count in English only (zero otherwise)."""
        english = 1.0 if self.english else 0.0
        return [
            float(value) * (english if name in ENGLISH_ONLY else 1.0)
            for name, value in zip(FEATURE_NAMES, astuple(self), strict=True)
        ]


FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in fields(MatchFeatures))
# Signals from the words the message shares with the entries, written in English: in another
# language most words are unknown to them, so these say nothing there and would only blur the
# embedding's evidence (cross-validated on the training split: more questions answered at the
# same precision).
ENGLISH_ONLY = frozenset(
    {"lexical_agrees", "lexical_confidence", "lexical_relevance", "unknown_share", "explained"}
)


@dataclass(frozen=True, slots=True)
class Calibration:
    """A logistic model: centre and scale per feature, then weights and a bias."""

    centre: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float

    def probability(self, features: MatchFeatures) -> float:
        z = self.bias + sum(
            w * (x - c) / s
            for w, x, c, s in zip(
                self.weights, features.vector(), self.centre, self.scale, strict=True
            )
        )
        return logistic(z)

    def as_data(self) -> dict[str, Any]:
        return {
            "features": list(FEATURE_NAMES),
            "centre": rounded(self.centre),
            "scale": rounded(self.scale),
            "weights": rounded(self.weights),
            "bias": round(self.bias, 6),
        }


def logistic(z: float) -> float:
    """The probability of a logit (clamped, so no input overflows)."""
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def rounded(values: Iterable[float]) -> list[float]:
    """A model's numbers as written to its data file: six decimals, and no "-0.0"."""
    return [round(float(v), 6) + 0.0 for v in values]


def _calibration(data: dict[str, Any]) -> Calibration:
    if list(data["features"]) != list(FEATURE_NAMES):
        raise ValueError("matching.json calibration does not match MatchFeatures")
    return Calibration(
        centre=tuple(data["centre"]),
        scale=tuple(data["scale"]),
        weights=tuple(data["weights"]),
        bias=float(data["bias"]),
    )


CALIBRATION = _calibration(_DATA["calibration"])
