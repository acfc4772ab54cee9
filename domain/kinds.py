"""What kind of message a guest sent, read from its sentence embedding.

Keyword patterns (``domain.escalation``, ``domain.requests``, ``domain.small_talk``) catch the
wordings they were written for and miss the next guest's: "Im Flur riecht es verbrannt und der
Rauchmelder piept!" names no pattern and is an emergency; "à demain alors" is small talk;
"Merci de me mettre en contact avec quelqu'un" asks for a person. One logistic model per kind
over the message's multilingual embedding (the vector the knowledge matcher uses, so it is
computed once) says how likely the message is of that kind; ``decide`` takes each as a reason
beside the patterns, never instead of them. The models are fitted on the training split of the
labelled messages (``python -m workers.calibrate``, which writes ``domain/data/kinds.json``),
each threshold placed on cross-validated probabilities so that at least ``PRECISION[kind]`` of
the messages above it are of the kind: a question taken for a request reaches staff instead of
an answer (tolerable), a question taken for small talk gets nothing (not), so small talk needs
the surest model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from domain.calibration import logistic, rounded
from domain.semantic import Embedder, message_vector
from domain.small_talk import looks_like_question

EMERGENCY = "emergency"
COMPLAINT = "complaint"
HUMAN = "human"
ACTION = "action"
SMALL_TALK = "small_talk"
# The labelled kinds each model is fitted to find (``workers/eval_data/messages.jsonl``).
LABELS: Mapping[str, frozenset[str]] = {
    EMERGENCY: frozenset({"emergency"}),
    COMPLAINT: frozenset({"complaint"}),
    HUMAN: frozenset({"human"}),
    ACTION: frozenset({"action"}),
    SMALL_TALK: frozenset({"small_talk", "praise"}),
}
# Praise in a guest's slang ("la pasamos bárbaro", "ein Gedicht") and irony ("genial, otra vez
# sin agua caliente") read alike to both models: a message the complaint model takes is no
# complaint when the small-talk (and praise) model finds it likelier still. Cross-validated on
# the training split (4,380 messages), this gives back 7 of the 19 praise and small-talk
# messages taken for complaints and loses 1 of the 436 complaints found.
RIVALS: Mapping[str, str] = {COMPLAINT: SMALL_TALK}
# The share of messages above each threshold that must be of the kind, on messages the model
# was not fitted on (``workers.calibrate``).
PRECISION: Mapping[str, float] = {
    EMERGENCY: 0.9,
    COMPLAINT: 0.9,
    HUMAN: 0.95,
    ACTION: 0.9,
    SMALL_TALK: 0.99,
}
# The small-talk model's precision on the statements the rules leave to it (asking nothing,
# naming no problem, calm by the sentiment's rules), the threshold never above the one over all
# messages. There, praise without a thanks ("Le tiramisu était divin") and a guest saying who
# they are ("soy Lucía, reservé para 4 personas esta noche") sit below the few ironic
# complaints the model is surest of, and a statement skipped wrongly leaves no question
# unanswered. Cross-validated on the training split (4,733 messages): small talk escalated
# 67 -> 45 of 660, needs staff escalated 1,327 -> 1,326 of 1,347 ("Die Wohnung ist viel
# hellhöriger als beschrieben" is skipped); 0.98 gave 67 -> 62 and lost none.
STATEMENT_PRECISION: Mapping[str, float] = {SMALL_TALK: 0.95}


@dataclass(frozen=True, slots=True)
class Linear:
    """A logistic model over standardised inputs: centre and scale per input, weights, bias."""

    centre: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    bias: float
    threshold: float  # the probability from which a message is taken to be of the kind
    # From this probability a message put as a statement (``STATEMENT_PRECISION``); none: the
    # threshold above.
    statement_threshold: float | None = None

    def probability(self, vector: npt.NDArray[np.floating[Any]]) -> float:
        return logistic(float(((vector - self.centre) / self.scale) @ self.weights) + self.bias)

    def as_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "centre": rounded(self.centre),
            "scale": rounded(self.scale),
            "weights": rounded(self.weights),
            "bias": round(self.bias, 6),
            "threshold": round(self.threshold, 6),
        }
        if self.statement_threshold is not None:
            data["statement_threshold"] = round(self.statement_threshold, 6)
        return data

    @classmethod
    def of(cls, data: dict[str, Any]) -> Linear:
        return cls(
            centre=np.asarray(data["centre"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            weights=np.asarray(data["weights"], dtype=np.float64),
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            statement_threshold=(
                None
                if data.get("statement_threshold") is None
                else float(data["statement_threshold"])
            ),
        )


@dataclass(frozen=True, slots=True)
class KindScores:
    """How likely a message is of each kind, and from which probability a kind is taken."""

    probabilities: Mapping[str, float]
    thresholds: Mapping[str, float] = field(default_factory=dict)
    # The thresholds for a message put as a statement, where they differ; ``statement``: is it.
    statement_thresholds: Mapping[str, float] = field(default_factory=dict)
    statement: bool = False

    def threshold(self, kind: str) -> float:
        if self.statement and kind in self.statement_thresholds:
            return self.statement_thresholds[kind]
        return self.thresholds.get(kind, 1.0)

    def likely(self, kind: str) -> bool:
        """Above the kind's threshold, and not less likely than a kind it is read against."""
        probability = self.probabilities.get(kind, 0.0)
        if probability < self.threshold(kind):
            return False
        rival = RIVALS.get(kind)
        return rival is None or self.probabilities.get(rival, 0.0) <= probability

    def detail(self, kind: str) -> str:
        """How a decision names the reason: ``emergency_likely=0.87``."""
        return f"{kind}_likely={self.probabilities.get(kind, 0.0):.2f}"


@dataclass(frozen=True, slots=True)
class KindModel:
    models: Mapping[str, Linear]

    def scores(
        self, vector: npt.NDArray[np.floating[Any]], *, statement: bool = False
    ) -> KindScores:
        """The scores of a message's vector; ``statement``: the message asks nothing."""
        return KindScores(
            probabilities={k: round(m.probability(vector), 4) for k, m in self.models.items()},
            thresholds={k: m.threshold for k, m in self.models.items()},
            statement_thresholds={
                k: m.statement_threshold
                for k, m in self.models.items()
                if m.statement_threshold is not None
            },
            statement=statement,
        )

    def of_text(self, text: str, embedder: Embedder | None) -> KindScores | None:
        """The scores of ``text`` (None without an embedder or a text: the patterns decide)."""
        if embedder is None or not text.strip():
            return None
        return self.scores(
            np.asarray(message_vector(embedder, text), dtype=np.float64),
            statement=put_as_statement(text),
        )

    def as_data(self) -> dict[str, Any]:
        return {kind: model.as_data() for kind, model in self.models.items()}

    @classmethod
    def of(cls, data: dict[str, Any]) -> KindModel:
        return cls({kind: Linear.of(model) for kind, model in data.items()})


def put_as_statement(text: str) -> bool:
    """Whether ``text`` is read with the statement thresholds: it asks nothing. The models are
    fitted (``workers.calibrate``) and read with this one rule."""
    return not looks_like_question(text)


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
