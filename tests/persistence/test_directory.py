"""The channel directory's lookups run on the driver, outside SQLAlchemy's execution: a pooled
connection the database dropped must still leave the pool, as SQLAlchemy would drop it."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.directory import ChannelDirectory
from workers.settings import Settings


async def _terminate_lookup_connections(owner_engine: AsyncEngine, app_role: str) -> int:
    """End the app role's connections whose last statement was a channel lookup; waits for each
    to be gone (``pg_terminate_backend`` with a timeout)."""
    async with owner_engine.connect() as connection:
        ended = await connection.scalar(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))"
                " FROM pg_stat_activity"
                " WHERE datname = current_database() AND usename = :role"
                " AND query LIKE '%FROM channel_route(%'"
            ),
            {"role": app_role},
        )
    return int(ended or 0)


async def test_a_lookup_after_its_connection_was_dropped_finds_the_channel_again(
    database: Settings, make_tenant, owner_engine: AsyncEngine
) -> None:
    tenant = await make_tenant()
    directory = ChannelDirectory.from_settings(database)
    try:
        route = await directory.lookup(tenant.public_id)
        assert route is not None
        assert route.tenant_id == tenant.tenant_id
        assert await _terminate_lookup_connections(owner_engine, database.app_role) == 1

        found: list[bool | str] = []
        for _ in range(3):
            try:
                found.append(await directory.lookup(tenant.public_id) == route)
            except Exception:  # the dropped connection may fail the first lookup
                found.append("failed")
        # At most the first lookup fails: the broken connection is not handed out again.
        assert found[1:] == [True, True], found
    finally:
        await directory.close()
