"""Migrating with the application URL compose uses: the app role's password comes from it."""

from __future__ import annotations

from uuid import uuid4

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from persistence.migrate import upgrade_async
from tests.conftest import ADMIN_URL, create_database, database_settings, drop_database
from workers.settings import Settings


async def _role_has_password(role: str) -> bool:
    admin = create_async_engine(ADMIN_URL)
    try:
        async with admin.connect() as connection:
            value = await connection.scalar(
                text("SELECT rolpassword IS NOT NULL FROM pg_authid WHERE rolname = :role"),
                {"role": role},
            )
            return bool(value)
    finally:
        await admin.dispose()


async def _drop_role(role: str) -> None:
    admin = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as connection:
            await connection.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await admin.dispose()


async def test_migrations_run_with_a_password_bearing_application_url() -> None:
    name = f"frontdesk_test_{uuid4().hex[:16]}"
    # A role of its own, so the shared test role keeps its (absent) password.
    role = f"frontdesk_app_pw_{uuid4().hex[:8]}"
    base = database_settings(name)
    app_url = make_url(base.database_url).set(username=role, password="s3cret'with quote")
    settings = Settings(
        database_url=app_url.render_as_string(hide_password=False),
        migration_database_url=base.migration_database_url,
    )
    await create_database(name)
    try:
        await upgrade_async(settings)
        assert await _role_has_password(role)
    finally:
        await drop_database(name)
        await _drop_role(role)
