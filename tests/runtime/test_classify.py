"""Sorting database errors: a lost race is worth running again, a broken rule is not."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from workers.runtime.classify import is_transaction_conflict


@pytest.fixture
async def table(database):
    dsn = make_url(database.migration_database_url).set(drivername="postgresql")
    dsn_text = dsn.render_as_string(hide_password=False)
    name = f"classify_{uuid4().hex[:10]}"
    admin = await asyncpg.connect(dsn_text)
    await admin.execute(f"CREATE TABLE public.{name} (id int PRIMARY KEY, n int NOT NULL)")
    await admin.execute(f"INSERT INTO public.{name} VALUES (1, 0), (2, 0)")
    yield dsn_text, f"public.{name}"
    await admin.execute(f"DROP TABLE public.{name}")
    await admin.close()


async def test_a_deadlock_is_a_transaction_conflict(table) -> None:
    dsn, name = table
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    both_locked = asyncio.Barrier(2)

    async def cross(connection: asyncpg.Connection, mine: int, theirs: int) -> None:
        async with connection.transaction():
            await connection.execute(f"UPDATE {name} SET n = n + 1 WHERE id = $1", mine)
            await both_locked.wait()
            await connection.execute(f"UPDATE {name} SET n = n + 1 WHERE id = $1", theirs)

    try:
        outcomes = await asyncio.gather(
            cross(first, 1, 2), cross(second, 2, 1), return_exceptions=True
        )
    finally:
        await first.close()
        await second.close()
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    assert len(errors) == 1, outcomes  # PostgreSQL picks one victim
    assert is_transaction_conflict(errors[0])
    wrapped = RuntimeError("handler failed")
    wrapped.__cause__ = errors[0]
    assert is_transaction_conflict(wrapped)


async def test_a_broken_constraint_is_not_a_transaction_conflict(table) -> None:
    dsn, name = table
    connection = await asyncpg.connect(dsn)
    try:
        with pytest.raises(asyncpg.UniqueViolationError) as raised:
            await connection.execute(f"INSERT INTO {name} VALUES (1, 0)")
    finally:
        await connection.close()
    assert not is_transaction_conflict(raised.value)
