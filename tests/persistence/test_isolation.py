"""Row-level security, table by table: one tenant never sees or touches another's rows.

The tables come from the models' metadata, so a new tenant-owned table is covered (and must be
populated in ``population.py``) without touching this file.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest
from sqlalchemy import Table, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from persistence.db import create_engine, create_sessionmaker
from persistence.models import metadata
from persistence.uow import UnitOfWorkFactory
from tests.persistence.conftest import sqlstate
from workers.settings import Settings

TENANT_TABLES = sorted(t.name for t in metadata.sorted_tables if "tenant_id" in t.c)
RLS_TABLES = ["tenants", *TENANT_TABLES]
INSUFFICIENT_PRIVILEGE = "42501"


def _key(table: Table):  # type: ignore[no-untyped-def]
    return table.c.id if table.name == "tenants" else table.c.tenant_id


async def _count(session: AsyncSession, table: Table, tenant_id: UUID) -> int:
    statement = select(func.count()).select_from(table).where(_key(table) == tenant_id)
    return int((await session.execute(statement)).scalar_one())


def test_every_tenant_owned_table_is_swept() -> None:
    assert len(TENANT_TABLES) >= 40


@pytest.mark.parametrize("name", TENANT_TABLES)
async def test_population_covers_every_table(
    name: str, populated: tuple[UUID, UUID], owner_engine: AsyncEngine
) -> None:
    table = metadata.tables[name]
    async with owner_engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).select_from(table).where(table.c.tenant_id == populated[0])
        )
    assert count, f"population.py writes no row into {name}"


@pytest.mark.parametrize("name", RLS_TABLES)
async def test_another_tenants_rows_are_invisible_and_untouchable(
    name: str, populated: tuple[UUID, UUID], uow_factory: UnitOfWorkFactory
) -> None:
    table, (a, b) = metadata.tables[name], populated
    async with uow_factory(a) as uow:
        assert await _count(uow.session, table, a) >= 1  # the rows are there for their tenant

    async with uow_factory(b) as uow:
        assert await _count(uow.session, table, a) == 0
        updated = await uow.session.execute(
            update(table).where(_key(table) == a).values(updated_at=func.now())
        )
        deleted = await uow.session.execute(delete(table).where(_key(table) == a))
        assert updated.rowcount == 0  # type: ignore[attr-defined]
        assert deleted.rowcount == 0  # type: ignore[attr-defined]
        await uow.commit()

    async with uow_factory(a) as uow:
        assert await _count(uow.session, table, a) >= 1


@pytest.mark.parametrize("name", RLS_TABLES)
async def test_writing_a_row_for_another_tenant_is_refused(
    name: str,
    populated: tuple[UUID, UUID],
    uow_factory: UnitOfWorkFactory,
    owner_engine: AsyncEngine,
) -> None:
    table, (a, b) = metadata.tables[name], populated
    async with owner_engine.connect() as connection:
        row = dict(
            (await connection.execute(select(table).where(_key(table) == a))).mappings().first()
        )  # type: ignore[arg-type]
    row["id"] = uuid4()
    if name == "tenants":
        row["slug"] = f"intruder-{uuid4().hex[:8]}"
    else:
        row["tenant_id"] = a

    async with uow_factory(b) as uow:
        with pytest.raises(DBAPIError) as refused:
            await uow.session.execute(insert(table).values(**row))
    assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE

    async with uow_factory(b) as uow:
        with pytest.raises(DBAPIError) as moved:
            await uow.session.execute(
                update(table).where(_key(table) == b).values({_key(table).name: a})
            )
    assert sqlstate(moved.value) == INSUFFICIENT_PRIVILEGE


@pytest.mark.parametrize("name", RLS_TABLES)
async def test_without_a_tenant_nothing_is_visible(
    name: str, populated: tuple[UUID, UUID], uow_factory: UnitOfWorkFactory
) -> None:
    table = metadata.tables[name]
    async with uow_factory.sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(table)) == 0


async def test_a_pooled_connection_carries_nothing_from_one_tenant_to_the_next(
    database: Settings, populated: tuple[UUID, UUID]
) -> None:
    a, b = populated
    engine = create_engine(
        database.database_url, schema=database.db_schema, pool_size=1, max_overflow=0
    )
    factory = UnitOfWorkFactory(create_sessionmaker(engine))
    messages = metadata.tables["messages"]
    try:
        async with factory(a) as uow:
            backend = await uow.session.scalar(text("SELECT pg_backend_pid()"))
            assert await _count(uow.session, messages, a) >= 1
            await uow.commit()
        async with factory(b) as uow:
            assert await uow.session.scalar(text("SELECT pg_backend_pid()")) == backend
            assert await _count(uow.session, messages, a) == 0
            assert await _count(uow.session, messages, b) >= 1
        async with factory.sessionmaker() as session:
            assert await session.scalar(text("SELECT pg_backend_pid()")) == backend
            setting = await session.scalar(text("SELECT current_setting('app.tenant_id', true)"))
            assert not setting
            assert await session.scalar(select(func.count()).select_from(messages)) == 0
    finally:
        await factory.dispose()
