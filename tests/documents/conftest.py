"""Knowledge documents on the session's database.

- ``api``, ``make_staff``, ``hotel`` (from ``tests.api.conftest``): the API in-process, staff
  with tokens, a tenant with an admin signed in.
- ``owner``: SQL as the database owner, across tenants (the tests' view of what was written).
- ``GUIDE``: a restaurant's guest guide (Markdown) answering what the demo FAQ does not.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.db import create_engine
from tests.api.conftest import api, api_app, api_services, hotel, make_staff  # noqa: F401
from workers.settings import Settings

GUIDE = (Path(__file__).parent / "guide.md").read_text()


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
