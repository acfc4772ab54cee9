"""The security posture, read from the PostgreSQL catalogue of a migrated database."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from workers.settings import Settings

FUNCTIONS = {
    "channel_route",
    "claim_outbox",
    "mark_outbox_published",
    "due_outbound",
    "stale_outbound",
    "due_notifications",
    "tenant_ids",
    "sign_in_candidates",
    "use_api_key",
    "due_expired_dialogues",
    "due_scheduled_messages",
    "due_sla_checks",
    "due_snoozed_conversations",
    "due_trigger_tenants",
    "config_changed",
    "integration_for_webhook",
}


async def _rows(engine: AsyncEngine, query: str, **params: object) -> list[tuple[object, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(text(query), params)]


async def test_every_tenant_table_forces_row_level_security(
    database: Settings, owner_engine: AsyncEngine
) -> None:
    rows = await _rows(
        owner_engine,
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity,
               (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid
                  AND pg_get_expr(p.polqual, p.polrelid) LIKE '%current_setting(''app.tenant_id''%'
                  AND pg_get_expr(p.polwithcheck, p.polrelid) LIKE '%app.tenant_id%')
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = :schema AND c.relkind = 'r'
          AND (c.relname = 'tenants' OR EXISTS (
                SELECT 1 FROM pg_attribute a
                WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped))
        """,
        schema=database.db_schema,
    )
    assert len(rows) >= 42
    unprotected = [name for name, enabled, forced, policies in rows if not (enabled and forced)]
    without_policy = [name for name, _, _, policies in rows if policies != 1]
    assert unprotected == []
    assert without_policy == []


async def test_the_app_role_is_unprivileged_and_owns_nothing(
    database: Settings, owner_engine: AsyncEngine
) -> None:
    [(superuser, bypass, login, create_role, create_db)] = await _rows(
        owner_engine,
        "SELECT rolsuper, rolbypassrls, rolcanlogin, rolcreaterole, rolcreatedb"
        " FROM pg_roles WHERE rolname = :role",
        role=database.app_role,
    )
    assert (superuser, bypass, login, create_role, create_db) == (False, False, True, False, False)
    owned = await _rows(
        owner_engine,
        """
        SELECT 'relation', relname FROM pg_class WHERE relowner = to_regrole(:role)
        UNION ALL SELECT 'function', proname FROM pg_proc WHERE proowner = to_regrole(:role)
        UNION ALL SELECT 'schema', nspname FROM pg_namespace WHERE nspowner = to_regrole(:role)
        """,
        role=database.app_role,
    )
    assert owned == []
    [(can_create, reads_history, writes_roles, reads_roles)] = await _rows(
        owner_engine,
        f"""
        SELECT has_schema_privilege(:role, :schema, 'CREATE'),
               has_table_privilege(:role, '{database.db_schema}.alembic_version', 'SELECT'),
               has_table_privilege(:role, '{database.db_schema}.roles', 'INSERT'),
               has_table_privilege(:role, '{database.db_schema}.roles', 'SELECT')
        """,
        role=database.app_role,
        schema=database.db_schema,
    )
    assert (can_create, reads_history, writes_roles, reads_roles) == (False, False, False, True)


async def test_cross_tenant_functions_are_pinned_security_definers(
    database: Settings, owner_engine: AsyncEngine
) -> None:
    rows = await _rows(
        owner_engine,
        """
        SELECT p.proname, p.prosecdef, array_to_string(p.proconfig, ','),
               has_function_privilege(:role, p.oid, 'EXECUTE'),
               has_function_privilege('public', p.oid, 'EXECUTE'),
               pg_get_userbyid(p.proowner)
        FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = :schema
        """,
        role=database.app_role,
        schema=database.db_schema,
    )
    assert {row[0] for row in rows} == FUNCTIONS
    for name, definer, config, app_may, public_may, owner in rows:
        assert definer, name
        assert f"search_path={database.db_schema}" in str(config).replace('"', ""), name
        assert app_may, name
        assert not public_may, name
        assert owner != database.app_role, name
