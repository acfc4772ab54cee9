"""Alembic environment: runs as the owner, in the frontdesk schema (created here if missing).

Called from ``persistence.migrate`` (which hands over a connection and the target) or from the
``alembic`` command line (which reads the settings from the environment).
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from persistence.db import create_engine
from persistence.migrate import MigrationTarget
from persistence.models import metadata

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _target() -> MigrationTarget:
    if "target" not in config.attributes:
        from workers.settings import Settings

        settings = Settings()
        config.attributes["target"] = MigrationTarget.from_settings(settings)
        config.attributes["migration_url"] = settings.migration_database_url
    target: MigrationTarget = config.attributes["target"]
    return target


def _migrate(connection: Connection) -> None:
    target = _target()
    # The schema must exist before Alembic creates its version table in it.
    connection.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"')
    connection.exec_driver_sql(f'SET search_path TO "{target.schema}"')
    context.configure(
        connection=connection,
        target_metadata=metadata,
        compare_type=True,
        compare_server_default=True,
        transaction_per_migration=False,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _migrate_online() -> None:
    target = _target()
    engine = create_engine(config.attributes["migration_url"], schema=target.schema, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_migrate)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: they create roles and policies")

connection = config.attributes.get("connection")
if connection is not None:
    _migrate(connection)
else:
    asyncio.run(_migrate_online())
