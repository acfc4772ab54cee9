"""Client CPU per statement, by the way it reaches PostgreSQL.

The same inbox insert (``processed_events``, ON CONFLICT DO NOTHING RETURNING id) and the same
primary-key select, each run N times inside one tenant-bound unit of work, through:

- ``orm``: an ORM-enabled ``insert(Model).values(...)`` / ``select(Model)`` in the session;
- ``core_text``: ``session.execute(text(...), params)``;
- ``driver_sql``: ``connection.exec_driver_sql(...)`` (SQLAlchemy, no compilation);
- ``asyncpg``: the session's own asyncpg connection, a prepared statement.

What is measured is this process's CPU time (``time.process_time``) per statement, so the
figures are the Python cost on the worker's side, the part that limits a worker process.

Run ``python -m bench.statements [N]``; it creates and drops a scratch database.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from bench.runtime_rate import scratch_tenant
from persistence.models import ProcessedEvent
from persistence.uow import UnitOfWork

INSERT_SQL = (
    "INSERT INTO processed_events (tenant_id, consumer, event_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING id"
)
SELECT_SQL = "SELECT * FROM processed_events WHERE tenant_id = $1 AND id = $2"


def _ways(uow: UnitOfWork, raw: object) -> dict[str, dict[str, Callable[[], Awaitable[object]]]]:
    tenant: UUID = uow.tenant_id
    session = uow.session

    async def orm_insert() -> object:
        statement = (
            insert(ProcessedEvent)
            .values(tenant_id=tenant, consumer="orm", event_id=uuid4())
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
            .returning(ProcessedEvent.id)
        )
        return (await session.execute(statement)).scalar_one_or_none()

    async def text_insert() -> object:
        statement = text(
            "INSERT INTO processed_events (tenant_id, consumer, event_id)"
            " VALUES (:tenant, :consumer, :event) ON CONFLICT (consumer, event_id) DO NOTHING"
            " RETURNING id"
        )
        params = {"tenant": tenant, "consumer": "text", "event": uuid4()}
        return (await session.execute(statement, params)).scalar_one_or_none()

    async def driver_insert() -> object:
        connection = await session.connection()
        result = await connection.exec_driver_sql(INSERT_SQL, (tenant, "driver", uuid4()))
        return result.scalar_one_or_none()

    async def asyncpg_insert() -> object:
        return await raw.fetchval(INSERT_SQL, tenant, "asyncpg", uuid4())  # type: ignore[attr-defined]

    async def orm_select() -> object:
        statement = select(ProcessedEvent).where(
            ProcessedEvent.tenant_id == tenant, ProcessedEvent.id == uuid4()
        )
        return (await session.execute(statement)).scalar_one_or_none()

    async def driver_select() -> object:
        connection = await session.connection()
        return (await connection.exec_driver_sql(SELECT_SQL, (tenant, uuid4()))).first()

    async def asyncpg_select() -> object:
        return await raw.fetchrow(SELECT_SQL, tenant, uuid4())  # type: ignore[attr-defined]

    return {
        "insert": {
            "orm": orm_insert,
            "core_text": text_insert,
            "driver_sql": driver_insert,
            "asyncpg": asyncpg_insert,
        },
        "select_by_id": {"orm": orm_select, "driver_sql": driver_select, "asyncpg": asyncpg_select},
    }


async def _cpu_per_call(call: Callable[[], Awaitable[object]], n: int) -> float:
    for _ in range(min(n, 200)):  # warm the statement caches
        await call()
    started = time.process_time()
    for _ in range(n):
        await call()
    return (time.process_time() - started) / n


async def main(n: int) -> None:
    async with scratch_tenant() as (_, uow_factory, (tenant, _)), uow_factory(tenant) as uow:
        raw = (await (await uow.session.connection()).get_raw_connection()).driver_connection
        for statement, ways in _ways(uow, raw).items():
            figures = {way: await _cpu_per_call(call, n) for way, call in ways.items()}
            print(
                json.dumps(
                    {
                        "statement": statement,
                        "n": n,
                        "client_cpu_us": {k: round(v * 1e6, 1) for k, v in figures.items()},
                        "orm_over_asyncpg": round(figures["orm"] / figures["asyncpg"], 2),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    import uvloop  # the event loop `frontdesk worker` runs on

    uvloop.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 3000))
