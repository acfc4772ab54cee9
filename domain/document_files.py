"""A document's bytes as text: what the bytes are (sniffed, whatever the file is called) and the
text of a PDF or a Word file in the form ``domain.documents`` splits.

``identify`` says ``pdf`` for bytes that start ``%PDF-`` and ``docx`` for a ZIP holding
``word/document.xml``; anything else may be UTF-8 text. ``read`` gives the text of the bytes in
their format: a PDF page by page (paragraphs and headings found from where its lines sit,
``domain.pdf_text``), a Word file paragraph by paragraph with its headings as ``#`` headings
and each table row as a line of its cells. An encrypted, damaged or empty file
raises ``UnreadableDocumentError`` naming why.

The bytes come from whoever uploads them, so reading is bounded: a PDF of at most
``MAX_PDF_PAGES`` pages, a Word file unpacking to at most ``MAX_DOCX_UNPACKED_BYTES`` (a ZIP
bomb is refused before it is opened), and either read for at most ``READ_SECONDS`` (checked
between pages, or between a Word file's paragraphs). The caller runs ``read`` in a thread: a
long PDF takes seconds.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Callable

import docx
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError

from domain.documents import (
    DocumentFormat,
    FileFormat,
    UnreadableDocumentError,
    decode,
    extract_text,
)
from domain.pdf_text import page_text

PDF_MAGIC = b"%PDF-"
ZIP_MAGIC = b"PK\x03\x04"
# Word 97-2003 (.doc), Excel (.xls) and PowerPoint (.ppt) files are OLE2 compound files.
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
DOCX_MAIN_PART = "word/document.xml"
# A house-rules book is tens of pages; a document is at most 400 passages (about 100 pages of
# text) in any case, so a longer PDF would be refused after all the work of reading it.
MAX_PDF_PAGES = 300
READ_SECONDS = 30.0
# A 1 MB upload of Word XML unpacks to a few MB; past this it is a ZIP bomb, not a document.
MAX_DOCX_UNPACKED_BYTES = 10_000_000
Clock = Callable[[], float]

_HEADING_STYLE = re.compile(r"^heading\s*([1-6])$", re.IGNORECASE)


def identify(data: bytes) -> FileFormat | None:
    """``pdf`` or ``docx`` by the bytes, None for what may be text; a ZIP that is not a Word
    file, or a legacy Office file, raises ``UnreadableDocumentError``."""
    if data.startswith(PDF_MAGIC):
        return "pdf"
    if data.startswith(OLE_MAGIC):
        raise UnreadableDocumentError(
            "a legacy Office file (.doc, .xls, .ppt): save it as .docx or PDF"
        )
    if not data.startswith(ZIP_MAGIC):
        return None
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, EOFError):
        raise UnreadableDocumentError("a damaged ZIP archive, not a readable .docx") from None
    if DOCX_MAIN_PART not in names:
        raise UnreadableDocumentError("a ZIP archive but not a Word document (.docx)")
    return "docx"


def read(data: bytes, document_format: DocumentFormat, *, clock: Clock = time.monotonic) -> str:
    """The text of ``data`` as ``extract_text`` leaves it (``#`` headings, paragraphs)."""
    if document_format == "pdf":
        return extract_text(_pdf_text(data, clock), "text")
    if document_format == "docx":
        return extract_text(_docx_text(data, clock), "text")
    return extract_text(decode(data), document_format)


def _pdf_text(data: bytes, clock: Clock) -> str:
    started = clock()
    try:
        reader = PdfReader(io.BytesIO(data))
        # pypdf opens a PDF locked with an empty user password (restrictions only) by itself.
        if reader.is_encrypted and not reader.decrypt(""):
            raise FileNotDecryptedError("a user password is set")
        count = len(reader.pages)
        if count > MAX_PDF_PAGES:
            raise UnreadableDocumentError(
                f"the PDF has {count} pages; at most {MAX_PDF_PAGES} are read"
            )
        pages: list[str] = []
        for number, page in enumerate(reader.pages, start=1):
            if clock() - started > READ_SECONDS:
                raise UnreadableDocumentError(
                    f"reading the PDF took over {READ_SECONDS:.0f} s"
                    f" (stopped at page {number} of {count})"
                )
            pages.append(page_text(page))
    except UnreadableDocumentError:
        raise
    except FileNotDecryptedError:
        raise UnreadableDocumentError(
            "the PDF is encrypted (password-protected): upload it without a password"
        ) from None
    except Exception as error:  # a parser of untrusted bytes fails in many ways, all the file's
        raise UnreadableDocumentError(f"a damaged PDF ({_described(error)})") from None
    text = "\n\n".join(page for page in pages if page)
    if not re.search(r"\w", text):
        raise UnreadableDocumentError(
            "no text found in the PDF (a scan? its pages are images without a text layer)"
        )
    return text


def _docx_text(data: bytes, clock: Clock) -> str:
    started = clock()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            # Declared sizes bound what zipfile inflates: an entry is cut off at its size.
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_DOCX_UNPACKED_BYTES:
            raise UnreadableDocumentError(
                f"the Word document unpacks to {unpacked} bytes;"
                f" at most {MAX_DOCX_UNPACKED_BYTES} are read"
            )
        document = docx.Document(io.BytesIO(data))
        # Paragraph.style looks its style up among all of them, every time: once per document.
        styles = {style.style_id: style.name or "" for style in document.styles}
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if clock() - started > READ_SECONDS:
                raise UnreadableDocumentError(
                    f"reading the Word document took over {READ_SECONDS:.0f} s"
                )
            blocks += _blocks(item, styles)
    except UnreadableDocumentError:
        raise
    except Exception as error:  # a parser of untrusted bytes fails in many ways, all the file's
        raise UnreadableDocumentError(f"a damaged Word document ({_described(error)})") from None
    return "\n\n".join(blocks)


def _blocks(item: Paragraph | Table, styles: dict[str, str]) -> list[str]:
    """A body item as paragraphs: a heading as ``#``, a list item as ``- ``, a table row by
    row (each a paragraph, so a long table splits between rows)."""
    if isinstance(item, Table):
        return _rows(item)
    text = "\n".join(line.strip() for line in item.text.split("\n") if line.strip())
    if not text:
        return []
    style = styles.get(item._p.style or "", "")  # the style's id; none: the default style
    level = _heading_level(style)
    if level:
        return [f"{'#' * level} {' '.join(text.split())}"]
    if style.lower().startswith("list"):
        return [f"- {text}"]
    return [text]


def _heading_level(style: str) -> int:
    if style.lower() == "title":
        return 1
    found = _HEADING_STYLE.match(style)
    return int(found.group(1)) if found else 0


def _rows(table: Table) -> list[str]:
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = _cell_text(cell)
            # A merged cell is listed once per grid column it spans.
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _cell_text(cell: _Cell) -> str:
    parts: list[str] = []
    for item in cell.iter_inner_content():
        if isinstance(item, Table):
            parts.extend(_rows(item))
        elif item.text.strip():
            parts.append(item.text.strip())
    return " ".join(" ".join(parts).split())


def _described(error: Exception) -> str:
    message = " ".join(str(error).split())[:120]
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
