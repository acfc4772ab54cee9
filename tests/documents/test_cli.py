"""`frontdesk kb ask` and `frontdesk kb documents` against the test database: the CLI answers
what the API's preview answers, and lists the documents with their state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from uuid import UUID, uuid4

from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from tests.documents.conftest import add_guide
from tests.pipeline.conftest import KNOWLEDGE
from workers.settings import Settings


def frontdesk(database: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        env={
            **os.environ,
            "FRONTDESK_DATABASE_URL": database.database_url,
            "FRONTDESK_MIGRATION_DATABASE_URL": database.migration_database_url,
            "FRONTDESK_LOG_JSON": "false",
        },
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


async def tenant_with_guide(make_tenant: MakeTenant, uow_factory: UnitOfWorkFactory) -> UUID:
    tenant = await make_tenant(vertical="restaurant")
    knowledge = json.loads(KNOWLEDGE.read_text())["trattoria-roma"]
    async with uow_factory(tenant.tenant_id) as uow:
        for category in knowledge["categories"]:
            category_id = await uow.knowledge.upsert_category(
                slug=category["slug"], name=category["name"]
            )
            for item in category["items"]:
                await uow.knowledge.upsert_item(
                    category_id=category_id,
                    key=item["key"],
                    question=item["question"],
                    answer=item["answer"],
                    example_questions=item.get("example_questions", []),
                )
        prompt = await uow.prompts.add(body="You are the restaurant's assistant.")
        await uow.prompts.publish(version=prompt.version)
        await uow.commit()
    await add_guide(uow_factory, tenant.tenant_id)
    return tenant.tenant_id


async def test_kb_ask_says_what_the_assistant_would_do(
    database: Settings, make_tenant: MakeTenant, uow_factory: UnitOfWorkFactory
) -> None:
    tenant_id = await tenant_with_guide(make_tenant, uow_factory)

    asked = frontdesk(
        database, "kb", "ask", "--tenant", str(tenant_id), "--json", "Do you offer cooking classes?"
    )
    faq = frontdesk(
        database, "kb", "ask", "--tenant", str(tenant_id), "What are your opening hours?"
    )

    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert (answer["decision"], answer["reason"]) == ("reply", "document_match")
    assert answer["source"]["kind"] == "passage"
    assert "pasta-making class" in answer["reply_text"]
    assert answer["candidates"][0] == {
        "kind": "passage",
        "id": answer["source"]["id"],
        "title": "Guest guide — Cooking classes",
        "score": answer["candidates"][0]["score"],
        "confidence": answer["confidence"],
    }
    assert faq.returncode == 0, faq.stderr
    assert faq.stdout.startswith("reply: knowledge_match confidence=")
    assert "source: item " in faq.stdout
    assert "Tuesday to Sunday" in faq.stdout


async def test_kb_documents_lists_each_document_with_its_state(
    database: Settings, make_tenant: MakeTenant, uow_factory: UnitOfWorkFactory
) -> None:
    tenant_id = await tenant_with_guide(make_tenant, uow_factory)

    listed = frontdesk(database, "kb", "documents", "--tenant", str(tenant_id))

    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0] == "1 documents"
    assert " ready " in lines[1]
    assert lines[1].endswith("4 passages v1 Guest guide")


def test_an_unknown_tenant_is_one_line_and_exit_2(database: Settings) -> None:
    tenant = uuid4()
    result = frontdesk(database, "kb", "ask", "--tenant", str(tenant), "Hello?")

    assert result.returncode == 2
    assert result.stderr.strip() == f"frontdesk: no tenant {tenant}"
