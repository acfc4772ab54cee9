"""Knowledge documents and the passages the assistant answers from (migrations 0020, 0023)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import Index, LargeBinary, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Base,
    SoftDeleted,
    TenantOwned,
    check,
    one_of,
    tenant_fk,
    tenant_keys,
)

DOCUMENT_FORMATS = ("text", "markdown", "html", "pdf", "docx")
DOCUMENT_STATES = ("processing", "ready", "failed")


class KnowledgeDocument(Base, TenantOwned, SoftDeleted):
    """An uploaded document; ``version`` moves on every replacement of its content."""

    __tablename__ = "knowledge_documents"
    __table_args__ = tenant_keys(
        Index("ix_knowledge_documents_tenant_id_created_at", "tenant_id", "created_at"),
        one_of("format", DOCUMENT_FORMATS),
        one_of("status", DOCUMENT_STATES),
        check("failed_has_reason", "status <> 'failed' OR failure_reason IS NOT NULL"),
        check("size_bytes", "size_bytes >= 0"),
        check("version", "version >= 1"),
        check("passage_count", "passage_count >= 0"),
    )

    title: Mapped[str]
    format: Mapped[str]
    file_name: Mapped[str | None]
    language: Mapped[str | None]
    content: Mapped[str]
    size_bytes: Mapped[int]
    content_sha256: Mapped[str]
    version: Mapped[int] = mapped_column(server_default=text("1"))
    status: Mapped[str] = mapped_column(server_default=text("'processing'"))
    failure_reason: Mapped[str | None]
    passage_count: Mapped[int] = mapped_column(server_default=text("0"))
    processed_at: Mapped[datetime | None]


class KnowledgePassage(Base, TenantOwned):
    """One passage of a document's current version, with its embedding (float32 bytes)."""

    __tablename__ = "knowledge_passages"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "document_id", "position"),
        tenant_fk("document_id", "knowledge_documents"),
        check("position", "position >= 0"),
        check("embedding_model", "(embedding IS NULL) = (embedding_model IS NULL)"),
    )

    document_id: Mapped[UUID]
    document_version: Mapped[int]
    position: Mapped[int]
    heading: Mapped[str | None]
    text: Mapped[str]
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary())
    embedding_model: Mapped[str | None]
