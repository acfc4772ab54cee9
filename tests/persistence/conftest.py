from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.db import create_engine
from persistence.uow import UnitOfWorkFactory
from tests.persistence.population import populate
from workers.settings import Settings


@pytest.fixture(scope="session")
async def owner_engine(database: Settings) -> AsyncIterator[AsyncEngine]:
    """The migration owner (a superuser here: row-level security does not apply to it)."""
    engine = create_engine(database.migration_database_url, schema=database.db_schema, pool_size=2)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def populated(uow_factory: UnitOfWorkFactory) -> tuple[UUID, UUID]:
    """Two tenants, A and B, each with a row in every tenant-owned table."""
    return await populate(uow_factory), await populate(uow_factory)


def sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def constraint_name(error: DBAPIError) -> str | None:
    return getattr(error.orig.__cause__, "constraint_name", None)
