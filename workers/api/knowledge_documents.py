"""Knowledge documents (``knowledge.manage``): house rules, a menu, a check-in guide the assistant
answers from, beside the FAQ items.

``POST /knowledge/documents`` takes a file (``multipart/form-data``: ``file``, optional
``title`` and ``language``) or JSON ``{title, content, language?, format?}``. A file may be a
PDF, a Word document (.docx), plain text, Markdown or HTML. Its type is read from its bytes,
never taken on trust from its name: ``%PDF-`` is a PDF, a ZIP holding ``word/document.xml`` is
a Word document, and anything else must be UTF-8 text, which the name (or the part's media type)
calls text, Markdown or HTML. A file named .pdf or .docx that is not one, an encrypted PDF, a
damaged file, or one without text is refused (422, naming why). The text is extracted (in a
thread: a long PDF takes seconds), checked and stored at once (the original format is kept) and
the answer is 202 with ``status: processing``; the documents consumer splits and embeds it, then
``ready`` (or ``failed`` with ``failure_reason``).

Uploading bytes a live document of the tenant already holds (same SHA-256) stores nothing new:
the answer is 200 with that document and a ``Location`` header pointing at it.

``PUT`` replaces the content (a new version, processing again; the old passages stop answering
at once), ``DELETE`` soft-deletes (its passages go). Limits: ``MAX_DOCUMENT_BYTES`` per upload
(413), at most ``MAX_PDF_PAGES`` pages per PDF, and ``MAX_DOCUMENT_PASSAGES`` per document,
``MAX_TENANT_PASSAGES`` per tenant (422), which bound what an autoreply worker holds in memory
for a tenant.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import Field, StringConstraints, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from domain.document_files import MAX_PDF_PAGES, identify, read
from domain.documents import (
    DocumentFormat,
    FileFormat,
    TextFormat,
    UnreadableDocumentError,
    split,
)
from domain.events import KnowledgeDocumentChanged
from persistence.models import KnowledgeDocument
from persistence.repositories.documents import DocumentContent
from workers.api.config_rows import audited
from workers.api.problems import Problem, field_error, invalid, not_found
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require
from workers.request_body import read_limited, replayed

router = APIRouter(prefix="/knowledge/documents", tags=["knowledge"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]
MAX_DOCUMENT_BYTES = 1_000_000
MAX_DOCUMENT_PASSAGES = 400
MAX_TENANT_PASSAGES = 5_000
# A multipart body carries the file and a few short fields.
MULTIPART_SLACK = 16_384
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")]
EXTENSIONS: dict[str, TextFormat] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
}
MEDIA_TYPES: dict[str, TextFormat] = {
    "text/plain": "text",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/html": "html",
    "application/xhtml+xml": "html",
}
# What a name or a media type claims, checked against the bytes (never taken on trust).
FILE_EXTENSIONS: dict[str, FileFormat] = {".pdf": "pdf", ".docx": "docx"}
FILE_MEDIA_TYPES: dict[str, FileFormat] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
}
FILE_LABELS: dict[FileFormat, str] = {"pdf": "PDF", "docx": "Word document (.docx)"}
LIMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: {"description": f"The upload is over {MAX_DOCUMENT_BYTES} bytes: nothing written"},
    422: {
        "description": "Unreadable (not the type its name says, encrypted, damaged, no text)"
        f" or over a limit (a PDF of more than {MAX_PDF_PAGES} pages, too many passages):"
        " the reason, nothing written"
    },
}


class DocumentText(Body):
    """A document given as text (JSON)."""

    title: Name
    content: Annotated[str, Field(min_length=1)]
    language: Language | None = None
    format: TextFormat = "markdown"


UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "PDF, .docx, .txt, .md or .html (text in"
                            " UTF-8); the type is read from the bytes",
                        },
                        "title": {"type": "string", "description": "Default: the file name"},
                        "language": {"type": "string", "description": "e.g. en, es, pt-BR"},
                    },
                }
            },
            "application/json": {"schema": DocumentText.model_json_schema()},
        },
    }
}


class DocumentOut(Out):
    id: UUID
    title: str
    format: str
    file_name: str | None
    language: str | None
    status: str = Field(description="processing, then ready or failed (see failure_reason)")
    failure_reason: str | None
    passage_count: int
    size_bytes: int
    version: int
    processed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None


class PassageOut(Out):
    id: UUID
    position: int
    heading: str | None
    text: str


class DocumentDetail(DocumentOut):
    passages: list[PassageOut]


UPLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A live document of the tenant holds these very bytes already (same"
        " SHA-256): that document as it is, its URL in Location; nothing written",
        "model": DocumentOut,
    },
    **LIMIT_RESPONSES,
}


@dataclass(frozen=True, slots=True)
class _Upload:
    title: str
    raw: bytes
    format: DocumentFormat
    language: str | None
    file_name: str | None


def _too_large() -> Problem:
    return Problem(
        413,
        f"a document is at most {MAX_DOCUMENT_BYTES} bytes",
        kind="too-large",
        limit_bytes=MAX_DOCUMENT_BYTES,
    )


async def _read_bounded(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large()
    return await read_limited(request, limit, _too_large)


async def _upload(request: Request) -> _Upload:
    """The upload from a multipart or a JSON body; 413 past the size limit, 422 naming the
    field for anything else wrong."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        return await _multipart(request)
    if media in ("application/json", ""):
        return await _json(request)
    raise invalid("content-type", "send multipart/form-data or application/json", location="header")


async def _json(request: Request) -> _Upload:
    data = await _read_bounded(request, MAX_DOCUMENT_BYTES * 6 + MULTIPART_SLACK)
    try:
        body = DocumentText.model_validate_json(data or b"{}")
    except ValidationError as error:
        errors = [
            field_error("body", ".".join(str(p) for p in e["loc"]) or "body", e["msg"])
            for e in error.errors(include_input=False)
        ]
        fields = ", ".join(sorted({f"body.{e['field']}" for e in errors}))
        raise Problem(422, f"invalid request: {fields}", kind="validation", errors=errors) from None
    raw = body.content.encode("utf-8")
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise _too_large()
    return _Upload(body.title, raw, body.format, body.language, None)


async def _multipart(request: Request) -> _Upload:
    data = await _read_bounded(request, MAX_DOCUMENT_BYTES + MULTIPART_SLACK)
    try:
        form = await replayed(request, data).form(max_files=1, max_fields=10)
    except HTTPException as error:
        raise invalid("body", f"the form cannot be read: {error.detail}") from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise invalid("file", "attach the document as the form's file field")
        raw = await upload.read()
        if len(raw) > MAX_DOCUMENT_BYTES:
            raise _too_large()
        file_name = (upload.filename or "").strip()[:200] or None
        document_format = _format_of(raw, file_name, upload.content_type)
        title = str(form.get("title") or "").strip() or (file_name or "")
        if not title or len(title) > 200:
            raise invalid("title", "give a title of 1 to 200 characters")
        language = str(form.get("language") or "").strip() or None
        if language is not None:
            try:
                DocumentText(title="x", content="x", language=language)
            except ValidationError:
                raise invalid("language", "a language code such as en, es or pt-BR") from None
        return _Upload(title, raw, document_format, language, file_name)
    finally:
        await form.close()


def _format_of(raw: bytes, file_name: str | None, content_type: str | None) -> DocumentFormat:
    """PDF or Word by the bytes; text, Markdown or HTML by the name or the media type."""
    suffix = "." + file_name.rsplit(".", 1)[-1].lower() if file_name and "." in file_name else ""
    media = (content_type or "").split(";")[0].strip().lower()
    try:
        sniffed = identify(raw)
    except UnreadableDocumentError as error:
        raise invalid("file", f"unreadable: {error}") from None
    if sniffed is not None:
        return sniffed
    # A text name (.md) outweighs the part's media type, which clients often guess.
    claimed = FILE_EXTENSIONS.get(suffix) or (
        None if suffix in EXTENSIONS else FILE_MEDIA_TYPES.get(media)
    )
    if claimed is not None:
        raise invalid(
            "file",
            f"unreadable: sent as a {FILE_LABELS[claimed]}, but its bytes are not one",
        )
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if media in MEDIA_TYPES:
        return MEDIA_TYPES[media]
    raise invalid("file", "send a PDF, a .docx, or a .txt, .md or .html file (UTF-8 text)")


def _passages_of(upload: _Upload) -> tuple[str, int]:
    """The upload's text and how many passages it splits into (a thread's work: parsing a
    PDF or a Word file takes a while)."""
    text = read(upload.raw, upload.format)
    return text, len(split(text))


async def _content(context: Context, upload: _Upload, *, replacing: UUID | None) -> DocumentContent:
    """The upload checked: readable text that splits into passages within the limits."""
    field = "file" if upload.file_name is not None else "content"
    try:
        text, passages = await asyncio.to_thread(_passages_of, upload)
    except UnreadableDocumentError as error:
        raise invalid(field, f"unreadable: {error}") from None
    if not passages:
        raise invalid(field, "unreadable: no passage of text found")
    if passages > MAX_DOCUMENT_PASSAGES:
        raise invalid(
            field,
            f"splits into {passages} passages; a document is at most {MAX_DOCUMENT_PASSAGES}",
        )
    held = await context.uow.documents.count_live_passages()
    if replacing is not None:
        current = await context.uow.documents.get(document_id=replacing)
        held -= current.passage_count if current is not None else 0
    if held + passages > MAX_TENANT_PASSAGES:
        raise invalid(
            field,
            f"the tenant's documents would hold {held + passages} passages;"
            f" at most {MAX_TENANT_PASSAGES}",
        )
    return DocumentContent(
        title=upload.title,
        format=upload.format,
        content=text,
        size_bytes=len(upload.raw),
        content_sha256=_sha256(upload),
        language=upload.language,
        file_name=upload.file_name,
    )


def _sha256(upload: _Upload) -> str:
    return hashlib.sha256(upload.raw).hexdigest()


def _audited_values(row: KnowledgeDocument) -> dict[str, Any]:
    """What the audit keeps of a document: its description, never its text."""
    return {
        "title": row.title,
        "format": row.format,
        "file_name": row.file_name,
        "language": row.language,
        "size_bytes": row.size_bytes,
        "content_sha256": row.content_sha256,
        "version": row.version,
    }


async def _document(context: Context, document_id: UUID) -> KnowledgeDocument:
    row = await context.uow.documents.get(document_id=document_id)
    if row is None:
        raise not_found("knowledge document")
    return row


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentOut,
    openapi_extra=UPLOAD_BODY,
    responses=UPLOAD_RESPONSES,
)
async def upload_document(request: Request, response: Response, context: Manage) -> DocumentOut:
    """Upload a document (PDF, .docx, text, Markdown or HTML; the type is read from the
    bytes): 202, ``processing``; it answers guests once ``status`` is ``ready``.

    The same bytes as a live document of the tenant (same SHA-256, whatever the title or file
    name) are not stored twice: the answer is 200 with that document as it is (``ready``,
    ``processing`` or ``failed``) and its URL in ``Location``. To process it again, ``PUT``
    the bytes to it; to start afresh, delete it and upload them again."""
    upload = await _upload(request)
    existing = await context.uow.documents.find_by_content(content_sha256=_sha256(upload))
    if existing is not None:
        response.status_code = status.HTTP_200_OK
        response.headers["Location"] = f"{request.url.path.rstrip('/')}/{existing.id}"
        return DocumentOut.model_validate(existing)
    content = await _content(context, upload, replacing=None)
    row = await context.uow.documents.add(content=content)
    context.uow.emit(
        KnowledgeDocumentChanged(
            tenant_id=context.uow.tenant_id, document_id=row.id, version=row.version
        )
    )
    await audited(context, "knowledge_document", row.id, "create", new=_audited_values(row))
    out = DocumentOut.model_validate(row)
    await context.uow.commit()
    return out


@router.get("", response_model=list[DocumentOut])
async def list_documents(
    context: Manage,
    deleted: Annotated[bool, Query(description="List the deleted documents instead")] = False,
) -> list[DocumentOut]:
    rows = await context.uow.documents.list_documents(deleted=deleted)
    return [DocumentOut.model_validate(row) for row in rows]


@router.get("/{document_id}", response_model=DocumentDetail)
async def get_document(document_id: UUID, context: Manage) -> DocumentDetail:
    """The document with the passages it answers from."""
    row = await _document(context, document_id)
    passages = await context.uow.documents.list_passages(document_id=row.id)
    return DocumentDetail.model_validate(
        {
            **DocumentOut.model_validate(row).model_dump(),
            "passages": [PassageOut.model_validate(p) for p in passages],
        }
    )


@router.put(
    "/{document_id}",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DocumentOut,
    openapi_extra=UPLOAD_BODY,
    responses=LIMIT_RESPONSES,
)
async def replace_document(document_id: UUID, request: Request, context: Manage) -> DocumentOut:
    """Replace the content (same body as the upload): a new version, processing again."""
    row = await _document(context, document_id)
    if row.deleted_at is not None:
        raise Problem(409, "the document is deleted", kind="conflict")
    content = await _content(context, await _upload(request), replacing=row.id)
    old = _audited_values(row)
    await context.uow.documents.replace(row, content=content)
    context.uow.emit(
        KnowledgeDocumentChanged(
            tenant_id=context.uow.tenant_id, document_id=row.id, version=row.version
        )
    )
    await audited(
        context, "knowledge_document", row.id, "replace", old=old, new=_audited_values(row)
    )
    out = DocumentOut.model_validate(row)
    await context.uow.commit()
    return out


@router.delete("/{document_id}", response_model=DocumentOut)
async def delete_document(document_id: UUID, context: Manage) -> DocumentOut:
    """Soft-delete: the assistant stops answering from it as the change commits."""
    row = await _document(context, document_id)
    if row.deleted_at is None:
        await context.uow.documents.soft_delete(row, at=datetime.now(UTC))
        await audited(context, "knowledge_document", row.id, "delete", old=_audited_values(row))
    out = DocumentOut.model_validate(row)
    await context.uow.commit()
    return out
