"""Document files built in the tests: a PDF written by hand (Helvetica text, one content stream
per page, offsets counted), one encrypted by pypdf, and Word files written by python-docx."""

from __future__ import annotations

import io
from collections.abc import Sequence

import docx
from docx.document import Document
from pypdf import PdfReader, PdfWriter

BODY_SIZE = 11
HEADING_SIZE = 16


def pdf(*pages: Sequence[str]) -> bytes:
    """A PDF with a page per argument, a line per string: ``"# Title"`` is set large, ``""``
    leaves a gap (a paragraph break)."""
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once its pages are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    kids: list[int] = []
    for lines in pages:
        stream = _content_stream(lines)
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792]"
            b" /Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(len(objects))
    references = b" ".join(b"%d 0 R" % kid for kid in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (references, len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def _content_stream(lines: Sequence[str]) -> bytes:
    ops = ["BT", "72 740 Td", f"{BODY_SIZE * 1.3:.1f} TL"]
    for line in lines:
        heading = line.startswith("# ")
        text = line.removeprefix("# ")
        size = HEADING_SIZE if heading else BODY_SIZE
        if not text:
            ops.append("T*")  # an empty line: the gap between paragraphs
            continue
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        ops += [f"/F1 {size} Tf", f"({escaped}) Tj", "T*"]
    ops.append("ET")
    return "\n".join(ops).encode("cp1252")


def encrypted(data: bytes, *, user_password: str) -> bytes:
    """``data`` encrypted with AES-128 (an owner password always; ``user_password`` to open)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def word(document: Document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def new_word() -> Document:
    return docx.Document()
