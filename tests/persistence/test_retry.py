"""Opening a unit of work rides out a database that is briefly unreachable, and only that."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from persistence.db import create_engine, create_sessionmaker
from persistence.retry import is_connection_error
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from tests.support.tcp_proxy import TcpProxy
from workers.settings import Settings


@pytest.fixture
async def proxy(database: Settings) -> AsyncIterator[TcpProxy]:
    url = make_url(database.database_url)
    tcp = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await tcp.start()
    yield tcp
    await tcp.close()


def _factory(database: Settings, port: int, attempts: int) -> UnitOfWorkFactory:
    url = make_url(database.database_url).set(host="127.0.0.1", port=port)
    engine = create_engine(url.render_as_string(False), schema=database.db_schema, pool_size=1)
    return UnitOfWorkFactory(create_sessionmaker(engine), connect_attempts=attempts)


async def test_a_unit_of_work_waits_out_a_database_outage(
    database: Settings, proxy: TcpProxy, make_tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    tenant = await make_tenant()
    factory = _factory(database, proxy.port, attempts=20)
    attempts: list[int] = []
    retried = asyncio.Event()
    begin = UnitOfWork._begin

    async def counting_begin(self: UnitOfWork):  # type: ignore[no-untyped-def]
        attempts.append(1)
        if len(attempts) >= 2:
            retried.set()
        return await begin(self)

    monkeypatch.setattr(UnitOfWork, "_begin", counting_begin)

    async def read_tenant() -> UUID | None:
        async with factory(tenant.tenant_id) as uow:
            row = await uow.tenants.get()
            return row.id if row else None

    try:
        assert await read_tenant() == tenant.tenant_id  # a pooled connection exists now
        await proxy.cut()
        attempts.clear()
        reading = asyncio.create_task(read_tenant())
        await asyncio.wait_for(retried.wait(), 10)  # failed at least once against the outage
        assert not reading.done()
        await proxy.restore()
        assert await asyncio.wait_for(reading, 15) == tenant.tenant_id
    finally:
        await factory.dispose()


async def test_a_lasting_outage_surfaces_as_a_connection_error(
    database: Settings, proxy: TcpProxy
) -> None:
    factory = _factory(database, proxy.port, attempts=2)
    await proxy.cut()
    try:
        with pytest.raises((OSError, DBAPIError)) as failure:
            async with factory(UUID(int=1)):
                pass
        assert is_connection_error(failure.value)
    finally:
        await factory.dispose()


def test_constraint_errors_are_not_connection_errors() -> None:
    error = IntegrityError("INSERT", {}, Exception("duplicate key"))
    assert not is_connection_error(error)
    assert is_connection_error(ConnectionRefusedError())
