"""Knowledge documents through the API on the real database: an upload is stored as processing
with its knowledge.document_changed event and audit row, the documents consumer makes it ready
with its passages; bad uploads are refused with the reason and leave nothing behind; replacing
and deleting take its passages away at once."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import httpx
import pytest

from domain.events import KnowledgeDocumentChanged
from domain.semantic import Vectors
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff
from tests.documents.conftest import GUIDE, Owner
from workers.api.knowledge_documents import MAX_DOCUMENT_BYTES, MAX_DOCUMENT_PASSAGES
from workers.consumers import documents

URL = "/api/v1/knowledge/documents"


async def process(
    uow_factory: UnitOfWorkFactory, tenant_id: UUID, document: dict[str, object]
) -> None:
    """What the documents consumer does with the upload's event (its real handler)."""
    event = KnowledgeDocumentChanged(
        tenant_id=tenant_id,
        document_id=UUID(str(document["id"])),
        version=int(str(document["version"])),
    )
    async with uow_factory(tenant_id) as uow:
        await documents.handle(event, uow, embedder=None)
        await uow.commit()


async def written(owner: Owner, tenant_id: UUID) -> tuple[int, int, int, int]:
    """Documents, passages, document events in the outbox, document audit rows."""
    events = await owner.rows(
        "SELECT count(*) AS n FROM outbox WHERE tenant_id = :t AND event_type = :e",
        t=tenant_id,
        e=KnowledgeDocumentChanged.routing_key,
    )
    audits = await owner.rows(
        "SELECT count(*) AS n FROM config_audit"
        " WHERE tenant_id = :t AND resource = 'knowledge_document'",
        t=tenant_id,
    )
    return (
        await owner.count("knowledge_documents", tenant_id),
        await owner.count("knowledge_passages", tenant_id),
        int(events[0]["n"]),
        int(audits[0]["n"]),
    )


async def test_an_upload_is_processing_then_ready_with_its_passages(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner, uow_factory: UnitOfWorkFactory
) -> None:
    tenant_id = hotel.tenant.tenant_id
    response = await api.post(
        URL,
        headers=hotel.admin.headers,
        files={"file": ("guide.md", GUIDE.encode(), "text/markdown")},
        data={"language": "en"},
    )

    assert response.status_code == 202, response.text
    document = response.json()
    assert document["status"] == "processing"
    assert (document["title"], document["format"], document["language"]) == (
        "guide.md",
        "markdown",
        "en",
    )
    assert document["size_bytes"] == len(GUIDE.encode())
    [event] = await owner.rows(
        "SELECT payload FROM outbox WHERE tenant_id = :t AND event_type = :e",
        t=tenant_id,
        e=KnowledgeDocumentChanged.routing_key,
    )
    assert event["payload"]["document_id"] == document["id"]
    [audit] = await owner.rows(
        "SELECT action, new_values FROM config_audit WHERE resource_id = :d", d=document["id"]
    )
    assert audit["action"] == "create"
    assert "content" not in audit["new_values"]  # the audit describes the text, never holds it

    await process(uow_factory, tenant_id, document)

    detail = (await api.get(f"{URL}/{document['id']}", headers=hotel.admin.headers)).json()
    assert detail["status"] == "ready"
    assert detail["passage_count"] == 4
    assert [p["heading"] for p in detail["passages"]] == [
        "Cooking classes",
        "Truffle season",
        "Lost property",
        "Loyalty card",
    ]
    listed = (await api.get(URL, headers=hotel.admin.headers)).json()
    assert [d["id"] for d in listed] == [document["id"]]


async def test_json_text_is_an_upload_too(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    body = {
        "title": "Menu",
        "content": "<h2>Pasta</h2><p>Carbonara, 14 euros.</p>",
        "format": "html",
    }
    response = await api.post(URL, headers=hotel.admin.headers, json=body)

    assert response.status_code == 202, response.text
    await process(uow_factory, hotel.tenant.tenant_id, response.json())
    detail = (await api.get(f"{URL}/{response.json()['id']}", headers=hotel.admin.headers)).json()
    assert [(p["heading"], p["text"]) for p in detail["passages"]] == [
        ("Pasta", "Carbonara, 14 euros.")
    ]


@pytest.mark.parametrize(
    ("upload", "field", "reason"),
    [
        (("rules.txt", b"\x00\x01\x02binary", "text/plain"), "file", "unreadable: binary data"),
        (("rules.txt", "Caf\u00e9".encode("latin-1"), "text/plain"), "file", "not UTF-8 text"),
        (("rules.pdf", b"%PDF-1.7 ...", "application/pdf"), "file", "unreadable: a damaged PDF"),
        (
            ("rules.docx", b"PK\x03\x04", "application/octet-stream"),
            "file",
            "unreadable: a damaged ZIP archive",
        ),
        (("rules.odt", b"Quiet after 22:00.", "application/octet-stream"), "file", "send a PDF"),
        (("page.html", b"<script>x()</script>", "text/html"), "file", "no text found"),
        (
            (
                "long.md",
                (
                    "\n\n".join(f"# Rule {n}\nText {n}." for n in range(MAX_DOCUMENT_PASSAGES + 1))
                ).encode(),
                "text/markdown",
            ),
            "file",
            f"splits into {MAX_DOCUMENT_PASSAGES + 1} passages;"
            f" a document is at most {MAX_DOCUMENT_PASSAGES}",
        ),
    ],
)
async def test_an_unreadable_upload_is_refused_with_the_reason_and_writes_nothing(
    api: httpx.AsyncClient,
    hotel: Hotel,
    owner: Owner,
    upload: tuple[str, bytes, str],
    field: str,
    reason: str,
) -> None:
    response = await api.post(URL, headers=hotel.admin.headers, files={"file": upload})

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert reason in problem["detail"]
    assert await written(owner, hotel.tenant.tenant_id) == (0, 0, 0, 0)


@pytest.mark.parametrize("as_json", [False, True])
async def test_an_oversized_upload_is_413_naming_the_limit_and_writes_nothing(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner, as_json: bool
) -> None:
    content = "A house rule. " * (MAX_DOCUMENT_BYTES // 14 + 10)
    if as_json:
        response = await api.post(
            URL, headers=hotel.admin.headers, json={"title": "Big", "content": content}
        )
    else:
        files = {"file": ("big.txt", content.encode(), "text/plain")}
        response = await api.post(URL, headers=hotel.admin.headers, files=files)

    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert str(MAX_DOCUMENT_BYTES) in response.json()["detail"]
    assert response.json()["limit_bytes"] == MAX_DOCUMENT_BYTES
    assert await written(owner, hotel.tenant.tenant_id) == (0, 0, 0, 0)


async def test_a_json_upload_names_each_field_it_refuses(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner
) -> None:
    response = await api.post(
        URL,
        headers=hotel.admin.headers,
        json={"title": "", "content": "x\u0000y", "language": "English"},
    )

    assert response.status_code == 422, response.text
    assert {e["field"] for e in response.json()["errors"]} == {"title", "content", "language"}
    assert await written(owner, hotel.tenant.tenant_id) == (0, 0, 0, 0)


async def test_replacing_a_document_takes_its_old_passages_away_until_the_new_are_ready(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner, uow_factory: UnitOfWorkFactory
) -> None:
    tenant_id = hotel.tenant.tenant_id
    first = (
        await api.post(URL, headers=hotel.admin.headers, json={"title": "Guide", "content": GUIDE})
    ).json()
    await process(uow_factory, tenant_id, first)

    response = await api.put(
        f"{URL}/{first['id']}",
        headers=hotel.admin.headers,
        json={"title": "Guide", "content": "# Wifi\nThe network is Roma, the password pasta123."},
    )

    assert response.status_code == 202, response.text
    replaced = response.json()
    assert (replaced["version"], replaced["status"], replaced["passage_count"]) == (
        2,
        "processing",
        0,
    )
    assert await owner.count("knowledge_passages", tenant_id) == 0
    # The first version's event, redelivered late, changes nothing.
    await process(uow_factory, tenant_id, first)
    assert await owner.count("knowledge_passages", tenant_id) == 0
    await process(uow_factory, tenant_id, replaced)
    detail = (await api.get(f"{URL}/{first['id']}", headers=hotel.admin.headers)).json()
    assert [p["heading"] for p in detail["passages"]] == ["Wifi"]
    actions = await owner.rows(
        "SELECT action FROM config_audit WHERE resource_id = :d ORDER BY created_at", d=first["id"]
    )
    assert [a["action"] for a in actions] == ["create", "replace"]


async def test_deleting_a_document_removes_its_passages_and_hides_it(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner, uow_factory: UnitOfWorkFactory
) -> None:
    tenant_id = hotel.tenant.tenant_id
    document = (
        await api.post(URL, headers=hotel.admin.headers, json={"title": "Guide", "content": GUIDE})
    ).json()
    await process(uow_factory, tenant_id, document)

    response = await api.delete(f"{URL}/{document['id']}", headers=hotel.admin.headers)

    assert response.status_code == 200, response.text
    assert response.json()["deleted_at"] is not None
    assert await owner.count("knowledge_passages", tenant_id) == 0
    assert (await api.get(URL, headers=hotel.admin.headers)).json() == []
    deleted = (await api.get(URL, headers=hotel.admin.headers, params={"deleted": True})).json()
    assert [d["id"] for d in deleted] == [document["id"]]
    # Its event, delivered after the delete, brings nothing back.
    await process(uow_factory, tenant_id, document)
    assert await owner.count("knowledge_passages", tenant_id) == 0


async def test_agents_cannot_manage_documents(
    api: httpx.AsyncClient, hotel: Hotel, make_staff: MakeStaff
) -> None:
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))

    response = await api.post(URL, headers=agent.headers, json={"title": "Guide", "content": GUIDE})

    assert response.status_code == 403


class BrokenEmbedder:
    def embed(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("no model")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        raise RuntimeError("no model")


async def test_a_document_that_cannot_be_processed_is_failed_with_the_reason(
    api: httpx.AsyncClient, hotel: Hotel, owner: Owner, uow_factory: UnitOfWorkFactory
) -> None:
    tenant_id = hotel.tenant.tenant_id
    document = (
        await api.post(URL, headers=hotel.admin.headers, json={"title": "Guide", "content": GUIDE})
    ).json()
    event = KnowledgeDocumentChanged(
        tenant_id=tenant_id, document_id=UUID(document["id"]), version=document["version"]
    )
    async with uow_factory(tenant_id) as uow:
        await documents.handle(event, uow, embedder=BrokenEmbedder())
        await uow.commit()

    detail = (await api.get(f"{URL}/{document['id']}", headers=hotel.admin.headers)).json()
    assert detail["status"] == "failed"
    assert detail["failure_reason"] == "the passages could not be embedded (RuntimeError)"
    assert detail["passages"] == []
    assert await owner.count("knowledge_passages", tenant_id) == 0
