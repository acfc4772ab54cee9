"""Roles, grants, row-level security and the narrow cross-tenant functions.

The application connects as a role that owns nothing and lacks BYPASSRLS; every tenant-owned
table only shows it the rows of the tenant named by ``app.tenant_id`` (set per transaction by
the unit of work). The few cross-tenant reads the system needs (routing a webhook, sweeping the
outbox, due messages and alerts) are SECURITY DEFINER functions owned by the migration owner.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from persistence.migrate import MigrationTarget

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TENANT_TABLES = (
    "properties", "property_settings", "assistant_profiles", "business_hours",
    "users", "user_roles", "teams", "team_memberships", "agent_skills",
    "channels", "staff_alert_targets", "integration_credentials",
    "guests", "guest_identities", "reservations",
    "conversations", "messages", "media_files", "tags", "conversation_tags",
    "conversation_notes", "conversation_events",
    "ai_settings", "prompts", "knowledge_categories", "knowledge_items", "documents",
    "templates", "whatsapp_templates", "canned_responses", "triggers",
    "staff_notifications", "sla_policies", "sla_violations",
    "bot_scenarios", "bot_dialog_states", "rate_limit_buckets",
    "webhook_events", "comms_events", "outbox", "processed_events",
)  # fmt: skip
# Shared catalogues every tenant reads and none writes.
GLOBAL_TABLES = ("roles", "permissions", "role_permissions")
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"

# SQLSTATEs of a concurrent migration creating or altering the same cluster-wide role:
# duplicate_object, unique_violation (pg_authid index), internal "tuple concurrently updated".
ROLE_RACES = {"42710", "23505", "XX000"}

FUNCTIONS = {
    "channel_route(uuid)": """
        CREATE FUNCTION channel_route(p_public_id uuid)
        RETURNS TABLE (tenant_id uuid, id uuid, public_id uuid, property_id uuid, provider text,
                       enabled boolean, address text, credentials_encrypted text,
                       webhook_secret_encrypted text)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
            SELECT c.tenant_id, c.id, c.public_id, c.property_id, c.provider,
                   c.enabled AND t.active, c.address, c.credentials_encrypted,
                   c.webhook_secret_encrypted
            FROM channels c JOIN tenants t ON t.id = c.tenant_id
            WHERE c.public_id = p_public_id
        $$""",
    "claim_outbox(integer)": """
        CREATE FUNCTION claim_outbox(p_batch integer)
        RETURNS TABLE (id uuid, tenant_id uuid, event_type text, payload jsonb,
                       created_at timestamptz)
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = {path} AS $$
            SELECT o.id, o.tenant_id, o.event_type, o.payload, o.created_at
            FROM outbox o
            WHERE o.published_at IS NULL
            ORDER BY o.created_at
            LIMIT least(greatest(p_batch, 0), 1000)
            FOR UPDATE SKIP LOCKED
        $$""",
    "mark_outbox_published(uuid[])": """
        CREATE FUNCTION mark_outbox_published(p_ids uuid[])
        RETURNS integer
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = {path} AS $$
            WITH published AS (
                UPDATE outbox SET published_at = now(), updated_at = now()
                WHERE id = ANY(p_ids) AND published_at IS NULL
                RETURNING 1
            )
            SELECT count(*)::integer FROM published
        $$""",
    "due_outbound(integer)": """
        CREATE FUNCTION due_outbound(p_batch integer)
        RETURNS TABLE (tenant_id uuid, message_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
            SELECT m.tenant_id, m.id
            FROM messages m JOIN tenants t ON t.id = m.tenant_id AND t.active
            WHERE m.direction = 'outbound' AND m.status = 'pending' AND m.send_after <= now()
            ORDER BY m.send_after
            LIMIT least(greatest(p_batch, 0), 1000)
        $$""",
    "due_notifications(integer)": """
        CREATE FUNCTION due_notifications(p_batch integer)
        RETURNS TABLE (tenant_id uuid, notification_id uuid)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
            SELECT n.tenant_id, n.id
            FROM staff_notifications n JOIN tenants t ON t.id = n.tenant_id AND t.active
            WHERE n.status IN ('pending', 'sent') AND n.next_alert_at <= now()
            ORDER BY n.next_alert_at
            LIMIT least(greatest(p_batch, 0), 1000)
        $$""",
    "tenant_ids()": """
        CREATE FUNCTION tenant_ids()
        RETURNS SETOF uuid
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
            SELECT id FROM tenants WHERE active ORDER BY id
        $$""",
}


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def _tolerating_races(bind: Connection, statement: str) -> None:
    """Run a role statement in a savepoint; a concurrent migration doing the same is fine."""
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql(statement)
    except DBAPIError as exc:
        savepoint.rollback()
        if getattr(exc.orig, "sqlstate", None) not in ROLE_RACES:
            raise
    else:
        savepoint.commit()


def _require_owner_bypasses_rls(bind: Connection) -> None:
    # FORCE ROW LEVEL SECURITY applies to the table owner too: the SECURITY DEFINER functions
    # only see across tenants when their owner (this role) is a superuser or has BYPASSRLS.
    allowed = bind.scalar(
        text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
    )
    if not allowed:
        raise RuntimeError(
            "the migration role must be a superuser or have BYPASSRLS: it owns the tables "
            "and the cross-tenant functions"
        )


def _ensure_app_role(bind: Connection, target: MigrationTarget) -> None:
    role = bind.scalar(text("SELECT quote_ident(:role)"), {"role": target.app_role})
    exists = bind.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": target.app_role})
    if not exists:
        _tolerating_races(bind, f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT")
    unsafe = bind.scalar(
        text("SELECT rolsuper OR rolbypassrls OR NOT rolcanlogin FROM pg_roles WHERE rolname = :r"),
        {"r": target.app_role},
    )
    if unsafe:
        _tolerating_races(bind, f"ALTER ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS")
    if target.app_password:
        statement = bind.scalar(
            text(
                "SELECT format('ALTER ROLE %I PASSWORD %L', CAST(:role AS text), CAST(:password AS text))"
            ),
            {"role": target.app_role, "password": target.app_password},
        )
        _tolerating_races(bind, str(statement))


def upgrade() -> None:
    bind = op.get_bind()
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    _require_owner_bypasses_rls(bind)
    _ensure_app_role(bind, target)

    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT USAGE, SELECT ON SEQUENCES TO {role}"
    )
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT EXECUTE ON FUNCTIONS TO {role}")
    # The migration history and the shared catalogues are not the application's to change.
    op.execute(f"REVOKE ALL ON alembic_version FROM {role}")
    for table in GLOBAL_TABLES:
        op.execute(f"REVOKE INSERT, UPDATE, DELETE ON {table} FROM {role}")

    for table in ("tenants", *TENANT_TABLES):
        key = "id" if table == "tenants" else "tenant_id"
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING ({key} = {CURRENT_TENANT}) WITH CHECK ({key} = {CURRENT_TENANT})"
        )

    for signature, body in FUNCTIONS.items():
        op.execute(body.format(path=f"{schema}, pg_temp"))
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")


def downgrade() -> None:
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    for table in ("tenants", *TENANT_TABLES):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON TABLES FROM {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON SEQUENCES FROM {role}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE ALL ON FUNCTIONS FROM {role}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}")
    op.execute(f"REVOKE ALL ON SCHEMA {schema} FROM {role}")
    # The role itself stays: roles are cluster-wide and other databases may use it.
