"""PDF and Word documents through the API on the real database: their type read from the bytes,
their text (headings, paragraphs, table cells) in the passages the assistant answers from; a
file that is not what its name says, an encrypted or damaged one, is refused with the reason and
leaves nothing behind; the same bytes uploaded again answer with the document that holds them."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.events import KnowledgeDocumentChanged
from domain.semantic import shared_embedder
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel
from tests.documents.conftest import Owner
from tests.documents.files import encrypted, new_word, pdf, word
from tests.documents.test_api import process, written
from workers.consumers import documents

URL = "/api/v1/knowledge/documents"
PREVIEW = "/api/v1/assistant/preview"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
GUIDE_PAGES = (
    [
        "# Cooking classes",
        "Every Saturday morning at 10:00 our chef teaches a three-hour pasta-making",
        "class at the Centro restaurant. It costs 60 euros per person, lunch and an",
        "apron included; book a place at least two days before.",
        "",
        "# Truffle season",
        "From October to December we serve a white truffle tasting menu of five",
        "courses for 85 euros per person. Wine pairing is 40 euros extra.",
    ],
    [
        "# Lost property",
        "Things left behind are kept at the restaurant for 30 days. Call the",
        "restaurant to collect them.",
    ],
)


def guide_docx() -> bytes:
    document = new_word()
    document.add_heading("House rules", level=1)
    document.add_paragraph("Quiet hours are from 22:00 to 7:00.")
    document.add_paragraph("Dogs up to 15 kg are welcome", style="List Bullet")
    document.add_heading("Meal times", level=2)
    table = document.add_table(rows=3, cols=2)
    for row, (meal, hours) in enumerate(
        [("Meal", "Hours"), ("Breakfast", "7:00 to 10:30 in the garden room"), ("Dinner", "")]
    ):
        table.cell(row, 0).text = meal
        table.cell(row, 1).text = hours
    table.cell(2, 1).add_table(rows=1, cols=2)
    table.cell(2, 1).tables[0].cell(0, 0).text = "Weekdays 19:00 to 22:00"
    table.cell(2, 1).tables[0].cell(0, 1).text = "Sundays closed"
    return word(document)


async def upload(
    api: httpx.AsyncClient, hotel: Hotel, name: str, data: bytes, media: str, **form: str
) -> httpx.Response:
    return await api.post(
        URL, headers=hotel.admin.headers, files={"file": (name, data, media)}, data=form
    )


async def ready(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory, document: dict[str, Any]
) -> dict[str, Any]:
    """The document after the documents consumer's real handler, with the real embedder."""
    tenant_id = hotel.tenant.tenant_id
    event = KnowledgeDocumentChanged(
        tenant_id=tenant_id, document_id=UUID(document["id"]), version=document["version"]
    )
    async with uow_factory(tenant_id) as uow:
        await documents.handle(event, uow, embedder=shared_embedder())
        await uow.commit()
    detail: dict[str, Any] = (
        await api.get(f"{URL}/{document['id']}", headers=hotel.admin.headers)
    ).json()
    return detail


async def test_a_pdf_is_read_into_passages_the_assistant_answers_from(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    response = await upload(api, hotel, "guide.pdf", pdf(*GUIDE_PAGES), "application/pdf")

    assert response.status_code == 202, response.text
    assert (response.json()["format"], response.json()["file_name"]) == ("pdf", "guide.pdf")
    detail = await ready(api, hotel, uow_factory, response.json())
    assert detail["status"] == "ready", detail["failure_reason"]
    assert [(p["heading"], p["text"]) for p in detail["passages"]] == [
        (
            "Cooking classes",
            "Every Saturday morning at 10:00 our chef teaches a three-hour pasta-making class"
            " at the Centro restaurant. It costs 60 euros per person, lunch and an apron"
            " included; book a place at least two days before.",
        ),
        (
            "Truffle season",
            "From October to December we serve a white truffle tasting menu of five courses"
            " for 85 euros per person. Wine pairing is 40 euros extra.",
        ),
        (
            "Lost property",
            "Things left behind are kept at the restaurant for 30 days. Call the restaurant"
            " to collect them.",
        ),
    ]
    cooking = detail["passages"][0]
    async with uow_factory(hotel.tenant.tenant_id) as uow:  # the assistant speaks once published
        prompt = await uow.prompts.add(body="You are the restaurant's helpful assistant.")
        await uow.prompts.publish(version=prompt.version)
        await uow.commit()

    preview = await api.post(
        PREVIEW, headers=hotel.admin.headers, json={"text": "Do you offer cooking classes?"}
    )

    assert preview.status_code == 200, preview.text
    assert preview.json()["decision"] == "reply", preview.json()
    assert preview.json()["source"] == {"kind": "passage", "id": cooking["id"]}
    assert "pasta-making class at the Centro restaurant" in preview.json()["reply_text"]


async def test_a_word_document_keeps_its_headings_lists_and_table_cells(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    response = await upload(api, hotel, "rules.docx", guide_docx(), DOCX, title="House rules")

    assert response.status_code == 202, response.text
    assert (response.json()["format"], response.json()["title"]) == ("docx", "House rules")
    detail = await ready(api, hotel, uow_factory, response.json())
    assert detail["status"] == "ready", detail["failure_reason"]
    assert [(p["heading"], p["text"]) for p in detail["passages"]] == [
        ("House rules", "Quiet hours are from 22:00 to 7:00.\n- Dogs up to 15 kg are welcome"),
        (
            "Meal times",
            "Meal | Hours\nBreakfast | 7:00 to 10:30 in the garden room\n"
            "Dinner | Weekdays 19:00 to 22:00 | Sundays closed",
        ),
    ]


@pytest.mark.parametrize(
    ("name", "media", "data", "expected"),
    [
        ("notes.txt", "text/plain", pdf(["Checkout is at 11:00."]), "pdf"),
        ("upload.bin", "application/octet-stream", pdf(["Checkout is at 11:00."]), "pdf"),
        ("rules.pdf", "application/pdf", b"# Checkout\nAt 11:00.", None),
        ("scan", "application/pdf", b"Checkout is at 11:00.", None),
        ("rules.md", "text/markdown", b"# Checkout\nAt 11:00.", "markdown"),
        ("rules.md", "application/pdf", b"# Checkout\nAt 11:00.", "markdown"),
    ],
)
async def test_the_type_is_read_from_the_bytes_not_the_name(
    api: httpx.AsyncClient,
    hotel: Hotel,
    owner: Owner,
    name: str,
    media: str,
    data: bytes,
    expected: str | None,
) -> None:
    response = await upload(api, hotel, name, data, media)

    if expected is None:
        assert response.status_code == 422, response.text
        assert "sent as a PDF, but its bytes are not one" in response.json()["detail"]
        assert await written(owner, hotel.tenant.tenant_id) == (0, 0, 0, 0)
    else:
        assert response.status_code == 202, response.text
        assert response.json()["format"] == expected


def zipped(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for entry, data in entries.items():
            archive.writestr(entry, data)
    return out.getvalue()


GUIDE_PDF = pdf(*GUIDE_PAGES)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01"
LEGACY_DOC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


@pytest.mark.parametrize(
    ("name", "media", "data", "reason"),
    [
        ("guide.pdf", "application/pdf", GUIDE_PDF[: len(GUIDE_PDF) // 3], "a damaged PDF"),
        ("guide.pdf", "application/pdf", b"%PDF-1.7\n\x93\x8c\x8b\x9e junk", "a damaged PDF"),
        (
            "guide.pdf",
            "application/pdf",
            encrypted(GUIDE_PDF, user_password="guest-guide"),
            "the PDF is encrypted (password-protected)",
        ),
        ("blank.pdf", "application/pdf", pdf([], []), "no text found in the PDF"),
        ("rules.docx", DOCX, b"House rules: quiet after 22:00.", "sent as a Word document"),
        ("rules.docx", DOCX, guide_docx()[:2000], "a damaged ZIP archive"),
        (
            "rules.docx",
            DOCX,
            zipped({"content.xml": b"<x/>"}),
            "a ZIP archive but not a Word document",
        ),
        (
            "rules.docx",
            DOCX,
            zipped({"[Content_Types].xml": b"<x/>", "word/document.xml": b"<not-word/>"}),
            "a damaged Word document",
        ),
        ("rules.doc", "application/msword", LEGACY_DOC, "a legacy Office file"),
        ("photo.jpg", "image/jpeg", JPEG, "send a PDF, a .docx, or a .txt, .md or .html"),
        ("photo.txt", "text/plain", JPEG, "unreadable: binary data"),
    ],
)
async def test_a_file_that_cannot_be_read_is_refused_naming_why_and_writes_nothing(
    api: httpx.AsyncClient,
    hotel: Hotel,
    owner: Owner,
    name: str,
    media: str,
    data: bytes,
    reason: str,
) -> None:
    response = await upload(api, hotel, name, data, media)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == "file"
    assert reason in problem["detail"], problem["detail"]
    assert await written(owner, hotel.tenant.tenant_id) == (0, 0, 0, 0)


async def test_the_same_bytes_again_answer_with_the_document_that_holds_them(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner, uow_factory: UnitOfWorkFactory
) -> None:
    tenant_id = hotel.tenant.tenant_id
    first = await upload(api, hotel, "guide.pdf", GUIDE_PDF, "application/pdf")
    assert first.status_code == 202, first.text
    await process(uow_factory, tenant_id, first.json())

    again = await upload(api, hotel, "copy.pdf", GUIDE_PDF, "application/pdf", title="Copy")

    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert (again.json()["title"], again.json()["status"]) == ("guide.pdf", "ready")
    assert again.headers["location"] == f"{URL}/{first.json()['id']}"
    assert await written(owner, tenant_id) == (1, 3, 1, 1)
    # Other bytes are another document; deleted, the same bytes are new again.
    other = await upload(api, hotel, "other.pdf", pdf(["Checkout is at 11:00."]), "application/pdf")
    assert other.status_code == 202, other.text
    await api.delete(f"{URL}/{first.json()['id']}", headers=hotel.admin.headers)
    after_delete = await upload(api, hotel, "guide.pdf", GUIDE_PDF, "application/pdf")
    assert after_delete.status_code == 202, after_delete.text
    assert after_delete.json()["id"] != first.json()["id"]


async def test_two_uploads_of_the_same_bytes_at_once_store_one_document(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner
) -> None:
    responses = await asyncio.gather(
        *(upload(api, hotel, f"guide-{n}.pdf", GUIDE_PDF, "application/pdf") for n in range(3))
    )

    assert sorted(r.status_code for r in responses) == [200, 200, 202], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await written(owner, hotel.tenant.tenant_id) == (1, 0, 1, 1)


async def test_a_document_is_replaced_by_a_file_of_another_format(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    first = await upload(api, hotel, "guide.pdf", GUIDE_PDF, "application/pdf")
    assert first.status_code == 202, first.text

    response = await api.put(
        f"{URL}/{first.json()['id']}",
        headers=hotel.admin.headers,
        files={"file": ("rules.docx", guide_docx(), DOCX)},
        data={"title": "House rules"},
    )

    assert response.status_code == 202, response.text
    replaced = response.json()
    assert (replaced["format"], replaced["file_name"], replaced["version"]) == (
        "docx",
        "rules.docx",
        2,
    )
    detail = await ready(api, hotel, uow_factory, replaced)
    assert [p["heading"] for p in detail["passages"]] == ["House rules", "Meal times"]
