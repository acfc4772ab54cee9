"""Reading document files (domain.document_files, domain.pdf_text) without the API: what the bytes
are, the text of PDFs and Word files as the splitter takes it, and the bounds on reading an
untrusted file (pages, time, unpacked size)."""

from __future__ import annotations

import io
import itertools
import zipfile
from collections.abc import Callable

import pytest

from domain.document_files import (
    MAX_DOCX_UNPACKED_BYTES,
    MAX_PDF_PAGES,
    READ_SECONDS,
    identify,
    read,
)
from domain.documents import UnreadableDocumentError, split
from tests.documents.files import new_word, pdf, word


def test_the_bytes_say_what_a_file_is() -> None:
    document = new_word()
    document.add_paragraph("Quiet after 22:00.")

    assert identify(pdf(["Checkout is at 11:00."])) == "pdf"
    assert identify(word(document)) == "docx"
    assert identify(b"# Checkout\nAt 11:00.") is None
    assert identify("<p>Caf\u00e9</p>".encode()) is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "a legacy Office file"),
        (b"PK\x03\x04 and then nothing", "a damaged ZIP archive"),
    ],
)
def test_what_is_neither_text_nor_a_readable_file_is_named(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocumentError, match=reason):
        identify(data)


def test_a_pdf_reads_as_headings_paragraphs_and_list_items() -> None:
    data = pdf(
        [
            "# Pool",
            "The pool opens at 8:00 and closes at",
            "20:00 every day.",
            "",
            "- Towels are at the desk.",
            "- Children swim with an adult.",
        ],
        ["# Parking", "Parking is free for guests."],
    )

    text = read(data, "pdf")

    assert text == (
        "# Pool\n\nThe pool opens at 8:00 and closes at 20:00 every day.\n\n"
        "- Towels are at the desk.\n- Children swim with an adult.\n\n"
        "# Parking\n\nParking is free for guests."
    )
    assert [(p.heading, p.text) for p in split(text)] == [
        (
            "Pool",
            "The pool opens at 8:00 and closes at 20:00 every day.\n"
            "- Towels are at the desk.\n- Children swim with an adult.",
        ),
        ("Parking", "Parking is free for guests."),
    ]


def test_a_pdf_over_the_page_limit_is_refused_before_it_is_read() -> None:
    data = pdf(*(["Page."] for _ in range(MAX_PDF_PAGES + 1)))

    with pytest.raises(UnreadableDocumentError, match=f"has {MAX_PDF_PAGES + 1} pages"):
        read(data, "pdf")


def ten_seconds_a_call() -> Callable[[], float]:
    ticks = itertools.count(0.0, 10.0)
    return lambda: next(ticks)


def test_reading_a_pdf_stops_once_it_has_taken_too_long() -> None:
    data = pdf(*(["Page."] for _ in range(6)))

    with pytest.raises(UnreadableDocumentError) as refused:
        read(data, "pdf", clock=ten_seconds_a_call())

    assert str(refused.value) == (
        f"reading the PDF took over {READ_SECONDS:.0f} s (stopped at page 4 of 6)"
    )


def test_reading_a_word_file_stops_once_it_has_taken_too_long() -> None:
    document = new_word()
    for number in range(3):
        document.add_paragraph(f"Rule {number}.")
    assert (
        read(word(document), "docx", clock=ten_seconds_a_call()) == "Rule 0.\n\nRule 1.\n\nRule 2."
    )
    document.add_paragraph("Rule 3.")

    with pytest.raises(UnreadableDocumentError, match=f"took over {READ_SECONDS:.0f} s"):
        read(word(document), "docx", clock=ten_seconds_a_call())


def test_a_word_document_reads_as_its_headings_paragraphs_and_rows() -> None:
    document = new_word()
    document.add_heading("Villa Aurora", level=0)  # the Title style
    document.add_heading("Arrival", level=2)
    document.add_paragraph("Keys are in the box by the door.\u00a0Code: 4711.")
    document.add_paragraph("")
    document.add_paragraph("Bring your passport", style="List Number")
    table = document.add_table(rows=2, cols=3)
    table.cell(0, 0).merge(table.cell(0, 2)).text = "Check-in"
    for column, text in enumerate(["From 15:00", "", "Late arrival: call us"]):
        table.cell(1, column).text = text

    text = read(word(document), "docx")

    assert text == (
        "# Villa Aurora\n\n## Arrival\n\nKeys are in the box by the door. Code: 4711.\n\n"
        "- Bring your passport\n\nCheck-in\n\nFrom 15:00 | Late arrival: call us"
    )


def test_a_word_file_that_unpacks_too_far_is_refused_before_it_is_parsed() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/media/padding.bin", bytes(MAX_DOCX_UNPACKED_BYTES))
    assert len(out.getvalue()) < 100_000  # a few kB that would unpack to 10 MB

    with pytest.raises(UnreadableDocumentError, match=r"unpacks to 1000001\d bytes"):
        read(out.getvalue(), "docx")
