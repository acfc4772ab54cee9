"""Knowledge documents on the session's database.

- ``api``, ``make_staff``, ``hotel`` (from ``tests.api.conftest``): the API in-process, staff
  with tokens, a tenant with an admin signed in.
- ``composing`` (from ``tests.composer.conftest``): the pipeline with a fake model server.
- ``owner``: SQL as the database owner, across tenants (the tests' view of what was written).
- ``GUIDE``: a restaurant's guest guide (Markdown) answering what the demo FAQ does not;
  ``add_guide(uow_factory, tenant_id)`` stores it ready, as the documents consumer leaves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.documents import extract_text
from domain.events import KnowledgeDocumentChanged
from domain.semantic import shared_embedder
from persistence.db import create_engine
from persistence.repositories.documents import DocumentContent
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import api, api_app, api_services, hotel, make_staff  # noqa: F401
from tests.composer.conftest import composing  # noqa: F401
from workers.consumers import documents
from workers.settings import Settings

GUIDE = (Path(__file__).parent / "guide.md").read_text()


async def add_guide(uow_factory: UnitOfWorkFactory, tenant_id: UUID) -> UUID:
    """The guide as a ready document of the tenant (the documents consumer's real handler)."""
    async with uow_factory(tenant_id) as uow:
        document = await uow.documents.add(
            content=DocumentContent(
                title="Guest guide",
                format="markdown",
                content=extract_text(GUIDE, "markdown"),
                size_bytes=len(GUIDE.encode()),
                content_sha256="0" * 64,
            )
        )
        event = KnowledgeDocumentChanged(
            tenant_id=tenant_id, document_id=document.id, version=document.version
        )
        await documents.handle(event, uow, embedder=shared_embedder())
        await uow.commit()
    return document.id


class Owner:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async with self.engine.begin() as connection:
            result = await connection.execute(text(query), params)
            return [dict(row) for row in result.mappings()]

    async def count(self, table: str, tenant_id: object) -> int:
        [row] = await self.rows(
            f"SELECT count(*) AS n FROM {table} WHERE tenant_id = :t", t=tenant_id
        )
        return int(row["n"])


@pytest.fixture(scope="module")
async def owner(database: Settings) -> AsyncIterator[Owner]:
    engine = create_engine(database.migration_database_url, schema=database.db_schema)
    yield Owner(engine)
    await engine.dispose()
