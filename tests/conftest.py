"""Fixtures every test folder may use: a real, migrated PostgreSQL database and broker names.

- ``database`` (session): a fresh database ``frontdesk_test_<random>`` on the local server,
  migrated to head as the owner; yields ``Settings`` pointing at it (``database_url`` is the
  restricted app role, ``migration_database_url`` the owner). Dropped at the end unless
  ``FRONTDESK_TEST_KEEP_DB=1``. Server: ``FRONTDESK_TEST_ADMIN_URL`` (default the local
  superuser ``postgres``).
- ``uow_factory`` (session): a ``UnitOfWorkFactory`` on the app role (RLS applies).
- ``make_tenant``: ``await make_tenant()`` creates a tenant with a property, its settings, AI
  settings and one channel; returns a ``TenantFixture`` with the ids.
- ``amqp_url`` (session): ``FRONTDESK_TEST_AMQP_URL`` or the local RabbitMQ.
- ``unique_name``: a fresh uuid4-based name for queues, exchanges, slugs.

Persistence is imported inside the fixtures so that tests which need no database still run
when it is unavailable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy.engine import make_url

from domain.events import Provider
from workers.settings import Settings

if TYPE_CHECKING:
    from persistence.uow import UnitOfWorkFactory

ADMIN_URL = os.environ.get(
    "FRONTDESK_TEST_ADMIN_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
APP_ROLE = "frontdesk_app"
WEBHOOK_SECRET = "test-webhook-secret"


def database_settings(name: str) -> Settings:
    """Settings for database ``name`` on the test server: owner from ADMIN_URL, app role."""
    owner = make_url(ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    app = owner.set(username=APP_ROLE, password=None)
    return Settings(
        database_url=app.render_as_string(hide_password=False),
        migration_database_url=owner.render_as_string(hide_password=False),
    )


async def create_database(name: str) -> None:
    from persistence.migrate import create_database_if_missing_async

    await create_database_if_missing_async(database_settings(name).migration_database_url)


async def drop_database(name: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            # WITH (FORCE) terminates the connections still open on it first.
            await connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
async def database() -> AsyncIterator[Settings]:
    from persistence.migrate import upgrade_async

    name = f"frontdesk_test_{uuid4().hex[:16]}"
    await create_database(name)
    settings = database_settings(name)
    try:
        await upgrade_async(settings)
        yield settings
    finally:
        if os.environ.get("FRONTDESK_TEST_KEEP_DB") == "1":
            # Past pytest's capture, so the name is seen even when the run passes.
            print(f"\nkept test database {name}", file=sys.__stderr__)
        else:
            await drop_database(name)


@pytest.fixture(scope="session")
async def uow_factory(database: Settings) -> AsyncIterator[UnitOfWorkFactory]:
    from persistence.uow import UnitOfWorkFactory

    factory = UnitOfWorkFactory.from_settings(database)
    yield factory
    await factory.dispose()


@dataclass(frozen=True, slots=True)
class TenantFixture:
    tenant_id: UUID
    slug: str
    property_id: UUID
    channel_id: UUID
    public_id: UUID
    provider: Provider
    webhook_secret: str | None
    credentials: Mapping[str, str]


MakeTenant = Callable[..., Awaitable[TenantFixture]]


@pytest.fixture
def make_tenant(uow_factory: UnitOfWorkFactory) -> MakeTenant:
    """``await make_tenant(provider=..., credentials=..., **ai_settings)`` -> TenantFixture."""

    async def make(
        *,
        vertical: str = "hotel",
        provider: Provider = Provider.GREEN_API,
        address: str = "+34600000001",
        credentials: Mapping[str, str] | None = None,
        webhook_secret: str | None = WEBHOOK_SECRET,
        timezone: str = "Europe/Madrid",
        **ai_settings: Any,
    ) -> TenantFixture:
        tenant_id = uuid4()
        slug = f"test-{tenant_id.hex[:12]}"
        credentials = dict(credentials or {"api_base_url": "http://127.0.0.1:9/unreachable"})
        async with uow_factory(tenant_id) as uow:
            await uow.tenants.add(name=f"Tenant {slug}", slug=slug, vertical=vertical)
            prop = await uow.properties.add(name="Main", timezone=timezone)
            await uow.properties.add_settings(property_id=prop.id)
            await uow.ai_settings.add(**ai_settings)
            channel = await uow.channels.add(
                property_id=prop.id,
                provider=provider,
                name=f"{provider} channel",
                address=address,
                credentials=credentials,
                webhook_secret=webhook_secret,
            )
            await uow.commit()
        return TenantFixture(
            tenant_id=tenant_id,
            slug=slug,
            property_id=prop.id,
            channel_id=channel.id,
            public_id=channel.public_id,
            provider=provider,
            webhook_secret=webhook_secret,
            credentials=credentials,
        )

    return make


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return os.environ.get("FRONTDESK_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def unique_name() -> str:
    return f"test-{uuid4().hex}"
