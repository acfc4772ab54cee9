"""A tenant's knowledge documents and their passages (with embeddings as float32 bytes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import numpy as np
from sqlalchemy import delete, func, literal, select

from domain.documents import Passage
from domain.passages import DocumentPassage
from persistence.models import KnowledgeDocument, KnowledgePassage
from persistence.repositories.base import Repository


@dataclass(frozen=True, slots=True)
class DocumentContent:
    """What an upload or a replacement stores (the extracted text, not the raw bytes)."""

    title: str
    format: str
    content: str
    size_bytes: int
    content_sha256: str
    language: str | None = None
    file_name: str | None = None


class DocumentRepository(Repository):
    async def add(self, *, content: DocumentContent) -> KnowledgeDocument:
        """A new document, ``processing`` until its passages are ready."""
        row = KnowledgeDocument(tenant_id=self.tenant_id, **_values(content))
        self._stage(row)
        await self.session.flush()
        return row

    async def get(self, *, document_id: UUID, for_update: bool = False) -> KnowledgeDocument | None:
        """The document, deleted or not."""
        return await self._get(KnowledgeDocument, document_id, for_update=for_update)

    async def find_by_content(self, *, content_sha256: str) -> KnowledgeDocument | None:
        """The live document holding these bytes (the newest, should two). The content's lock
        is held until the transaction ends, so two uploads of the same bytes store one."""
        key = func.hashtextextended(
            literal("knowledge_document:") + f"{self.tenant_id}:{content_sha256}", 0
        )
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))
        statement = (
            select(KnowledgeDocument)
            .where(
                KnowledgeDocument.tenant_id == self.tenant_id,
                KnowledgeDocument.content_sha256 == content_sha256,
                KnowledgeDocument.deleted_at.is_(None),
            )
            .order_by(KnowledgeDocument.created_at.desc(), KnowledgeDocument.id)
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_documents(self, *, deleted: bool = False) -> list[KnowledgeDocument]:
        """The live documents (``deleted``: the deleted ones instead), newest first."""
        gone = (
            KnowledgeDocument.deleted_at.is_not(None)
            if deleted
            else KnowledgeDocument.deleted_at.is_(None)
        )
        statement = (
            select(KnowledgeDocument)
            .where(KnowledgeDocument.tenant_id == self.tenant_id, gone)
            .order_by(KnowledgeDocument.created_at.desc(), KnowledgeDocument.id)
        )
        return list((await self.session.execute(statement)).scalars())

    async def replace(self, row: KnowledgeDocument, *, content: DocumentContent) -> None:
        """New content for ``row``: the next version, processing again, its passages gone."""
        for name, value in _values(content).items():
            setattr(row, name, value)
        row.version += 1
        row.status = "processing"
        row.failure_reason = None
        row.passage_count = 0
        row.processed_at = None
        await self.remove_passages(document_id=row.id)
        await self.session.flush()

    async def soft_delete(self, row: KnowledgeDocument, *, at: datetime) -> None:
        """The assistant stops answering from it: deleted, its passages removed."""
        row.deleted_at = at
        await self.remove_passages(document_id=row.id)
        await self.session.flush()

    async def remove_passages(self, *, document_id: UUID) -> None:
        await self.session.execute(
            delete(KnowledgePassage).where(
                KnowledgePassage.tenant_id == self.tenant_id,
                KnowledgePassage.document_id == document_id,
            )
        )

    async def mark_ready(
        self,
        row: KnowledgeDocument,
        *,
        passages: Sequence[Passage],
        vectors: np.ndarray | None,
        model: str | None,
        at: datetime,
    ) -> None:
        """Store the passages of ``row``'s current version (and their embeddings): ready."""
        await self.remove_passages(document_id=row.id)
        for index, passage in enumerate(passages):
            vector = vectors[index] if vectors is not None else None
            self._stage(
                KnowledgePassage(
                    tenant_id=self.tenant_id,
                    document_id=row.id,
                    document_version=row.version,
                    position=passage.position,
                    heading=passage.heading,
                    text=passage.text,
                    embedding=vector.astype("<f4").tobytes() if vector is not None else None,
                    embedding_model=model if vector is not None else None,
                )
            )
        row.status = "ready"
        row.failure_reason = None
        row.passage_count = len(passages)
        row.processed_at = at
        await self.session.flush()

    async def mark_failed(self, row: KnowledgeDocument, *, reason: str, at: datetime) -> None:
        await self.remove_passages(document_id=row.id)
        row.status = "failed"
        row.failure_reason = reason
        row.passage_count = 0
        row.processed_at = at
        await self.session.flush()

    async def list_passages(self, *, document_id: UUID) -> list[KnowledgePassage]:
        statement = (
            select(KnowledgePassage)
            .where(
                KnowledgePassage.tenant_id == self.tenant_id,
                KnowledgePassage.document_id == document_id,
            )
            .order_by(KnowledgePassage.position)
        )
        return list((await self.session.execute(statement)).scalars())

    async def get_passage(self, *, passage_id: UUID) -> DocumentPassage | None:
        """A passage of a live document, as the matcher and the composer take it."""
        rows = await self._answer_sources(KnowledgePassage.id == passage_id, vectors=False)
        return rows[0] if rows else None

    async def answer_sources(self) -> list[DocumentPassage]:
        """The passages of the tenant's ready, live documents, with their embeddings."""
        return await self._answer_sources(None, vectors=True)

    async def count_live_passages(self) -> int:
        """Passages of live documents (the tenant's bound on what a worker holds in memory)."""
        statement = select(func.coalesce(func.sum(KnowledgeDocument.passage_count), 0)).where(
            KnowledgeDocument.tenant_id == self.tenant_id,
            KnowledgeDocument.deleted_at.is_(None),
        )
        return int(await self.session.scalar(statement) or 0)

    async def _answer_sources(self, condition: object, *, vectors: bool) -> list[DocumentPassage]:
        statement = (
            select(KnowledgePassage, KnowledgeDocument.title)
            .join(
                KnowledgeDocument,
                (KnowledgeDocument.tenant_id == KnowledgePassage.tenant_id)
                & (KnowledgeDocument.id == KnowledgePassage.document_id),
            )
            .where(
                KnowledgePassage.tenant_id == self.tenant_id,
                KnowledgeDocument.deleted_at.is_(None),
                KnowledgeDocument.status == "ready",
                KnowledgePassage.document_version == KnowledgeDocument.version,
            )
            .order_by(KnowledgeDocument.created_at, KnowledgePassage.position)
        )
        if condition is not None:
            statement = statement.where(condition)  # type: ignore[arg-type]
        return [
            DocumentPassage(
                id=passage.id,
                document_id=passage.document_id,
                title=title,
                heading=passage.heading,
                text=passage.text,
                vector=(
                    np.frombuffer(passage.embedding, dtype="<f4").astype(np.float32)
                    if vectors and passage.embedding is not None
                    else None
                ),
            )
            for passage, title in (await self.session.execute(statement)).all()
        ]


def _values(content: DocumentContent) -> dict[str, object]:
    return {
        "title": content.title,
        "format": content.format,
        "content": content.content,
        "size_bytes": content.size_bytes,
        "content_sha256": content.content_sha256,
        "language": content.language,
        "file_name": content.file_name,
    }
