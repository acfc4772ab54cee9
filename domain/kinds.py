"""What kind of message a guest sent, read from its sentence embedding.

Keyword patterns (``domain.escalation``, ``domain.small_talk``) catch the wordings they were
written for and miss the next guest's: "Im Flur riecht es stark nach Rauch!!" names no pattern
and is an emergency; "à demain alors" is small talk. Two logistic models over the message's
multilingual embedding (the vector the knowledge matcher uses, so it is computed once) say how
likely the message is an emergency, and how likely it is small talk or praise; ``decide`` takes
either as a reason beside the patterns, never instead of them. The models are fitted on the
training split of the labelled messages (``python -m workers.calibrate``, which writes
``domain/data/kinds.json``), each threshold placed on cross-validated probabilities: an
emergency where at least ``EMERGENCY_PRECISION`` of the messages above it are emergencies (a
complaint paged at once is the tolerable mistake), small talk where nearly every message above
it needs no answer (a question skipped as small talk is not).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.semantic import Embedder

# The share of messages above each threshold that must be of the kind, on messages the model
# was not fitted on (``workers.calibrate``).
EMERGENCY_PRECISION = 0.9
SMALL_TALK_PRECISION = 0.99


@dataclass(frozen=True, slots=True)
class Linear:
    """A logistic model over standardised inputs: centre and scale per input, weights, bias."""

    centre: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    bias: float
    threshold: float  # the probability from which a message is taken to be of the kind

    def probability(self, vector: npt.NDArray[np.floating[Any]]) -> float:
        z = float(((vector - self.centre) / self.scale) @ self.weights) + self.bias
        return 1.0 / (1.0 + float(np.exp(-max(-30.0, min(30.0, z)))))

    def as_data(self) -> dict[str, Any]:
        return {
            "centre": [round(float(v), 6) for v in self.centre],
            "scale": [round(float(v), 6) for v in self.scale],
            "weights": [round(float(v), 6) + 0.0 for v in self.weights],
            "bias": round(self.bias, 6),
            "threshold": round(self.threshold, 6),
        }

    @classmethod
    def of(cls, data: dict[str, Any]) -> Linear:
        return cls(
            centre=np.asarray(data["centre"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
        )


@dataclass(frozen=True, slots=True)
class KindScores:
    """How likely a message is an emergency, and small talk (or praise)."""

    emergency: float
    small_talk: float
    emergency_threshold: float = 1.0
    small_talk_threshold: float = 1.0

    @property
    def emergency_likely(self) -> bool:
        return self.emergency >= self.emergency_threshold

    @property
    def small_talk_likely(self) -> bool:
        return self.small_talk >= self.small_talk_threshold


@dataclass(frozen=True, slots=True)
class KindModel:
    emergency: Linear
    small_talk: Linear

    def scores(self, vector: npt.NDArray[np.floating[Any]]) -> KindScores:
        return KindScores(
            emergency=round(self.emergency.probability(vector), 4),
            small_talk=round(self.small_talk.probability(vector), 4),
            emergency_threshold=self.emergency.threshold,
            small_talk_threshold=self.small_talk.threshold,
        )

    def of_text(self, text: str, embedder: Embedder | None) -> KindScores | None:
        """The scores of ``text`` (None without an embedder or a text: the patterns decide)."""
        if embedder is None or not text.strip():
            return None
        return self.scores(np.asarray(embedder.embed([text])[0], dtype=np.float64))

    def as_data(self) -> dict[str, Any]:
        return {"emergency": self.emergency.as_data(), "small_talk": self.small_talk.as_data()}

    @classmethod
    def of(cls, data: dict[str, Any]) -> KindModel:
        return cls(emergency=Linear.of(data["emergency"]), small_talk=Linear.of(data["small_talk"]))


def threshold_for(
    probabilities: Sequence[float] | npt.NDArray[np.float64],
    is_kind: Sequence[bool] | npt.NDArray[np.bool_],
    precision: float,
) -> float:
    """The lowest probability at which at least ``precision`` of the messages scored at or
    above it are of the kind (1.0 when none is)."""
    scored = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(is_kind, dtype=np.bool_)
    order = np.argsort(-scored)
    share = np.cumsum(labels[order]) / np.arange(1, len(order) + 1)
    reaching = np.flatnonzero(share >= precision)
    return float(scored[order[reaching.max()]]) if len(reaching) else 1.0


def _load() -> KindModel:
    data = resources.files("domain.data").joinpath("kinds.json").read_text("utf-8")
    return KindModel.of(json.loads(data))


KIND_MODEL = _load()
