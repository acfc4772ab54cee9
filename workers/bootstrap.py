"""Start-up chores shared by `frontdesk up`, `frontdesk seed` and the demo."""

from __future__ import annotations

from sqlalchemy import text

from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.db import create_engine
from persistence.demo.tenants import DEMO_TENANTS, at_stand_in
from persistence.seed import SeedReport
from persistence.seed import seed_demo as seed_demo_tenants
from persistence.uow import UnitOfWorkFactory
from workers.providers.registry import webhook_url
from workers.settings import Settings


async def seed_demo(settings: Settings) -> SeedReport:
    uow_factory = UnitOfWorkFactory.from_settings(settings)
    try:
        tenants = at_stand_in(
            DEMO_TENANTS, url=settings.standin_url, smtp_port=settings.standin_smtp_port
        )
        return await seed_demo_tenants(
            uow_factory, cipher=SecretCipher.from_settings(settings), tenants=tenants
        )
    finally:
        await uow_factory.dispose()


async def _owner_rows(settings: Settings, query: str) -> list[tuple[object, ...]]:
    """Run an operator query as the owner (the migration role), across tenants."""
    engine = create_engine(settings.migration_database_url, schema=settings.db_schema)
    try:
        async with engine.connect() as connection:
            return [tuple(row) for row in await connection.execute(text(query))]
    finally:
        await engine.dispose()


async def count_tenants(settings: Settings) -> int:
    rows = await _owner_rows(settings, "SELECT count(*) FROM tenants")
    count = rows[0][0]
    assert isinstance(count, int)
    return count


async def webhook_urls(settings: Settings) -> list[tuple[str, str, str]]:
    rows = await _owner_rows(
        settings,
        "SELECT t.slug, c.provider, c.public_id FROM channels c "
        "JOIN tenants t ON t.id = c.tenant_id ORDER BY t.slug, c.provider",
    )
    return [
        (
            str(slug),
            str(provider),
            webhook_url(settings.public_base_url, Provider(str(provider)), pid),
        )
        for slug, provider, pid in rows
    ]
