"""A failed statement's error names the statement, never the values it was given."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from persistence.db import create_engine
from workers.settings import Settings

SECRET_VALUE = "guest-secret-7f3a9c"


async def test_a_failed_statement_does_not_quote_its_parameters(database: Settings) -> None:
    engine = create_engine(database.database_url, schema=database.db_schema, pool_size=1)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as failure:
                # Division by zero: the server's message does not quote the value itself.
                await connection.execute(
                    text("SELECT CAST(:value AS text), 1 / 0"), {"value": SECRET_VALUE}
                )
    finally:
        await engine.dispose()
    assert "SELECT CAST" in str(failure.value)
    assert SECRET_VALUE not in str(failure.value)
