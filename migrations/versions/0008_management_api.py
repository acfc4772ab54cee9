"""The management API: sign-in, API keys, permissions and the configuration audit.

- ``api_keys``: machines' credentials (SHA-256 of the key, a visible prefix, a subset of
  permissions), revocable; ``use_api_key(hash)`` is the one cross-tenant lookup by hash.
- ``config_audit``: one row per configuration change.
- ``password_tokens``: single-use, expiring set-password links (invitations).
- ``sign_in_attempts``: the throttling record (no tenant: an unknown e-mail has none).
- ``sign_in_candidates(email, tenant_slug)``: the sign-in lookup across tenants, returning the
  user id, tenant id, password hash and active flag, nothing else.
- Permissions ``apikeys.manage``, ``audit.read``, ``reservations.write``, ``tenant.manage``,
  granted to admin.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from persistence.migrate import MigrationTarget

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TENANT_TABLES = ("api_keys", "config_audit", "password_tokens")
PERMISSIONS = {
    "apikeys.manage": "Create, list and revoke API keys.",
    "audit.read": "Read the configuration audit.",
    "reservations.write": "Create and change reservations.",
    "tenant.manage": "Change the tenant's properties and their settings.",
}
FUNCTIONS = {
    "sign_in_candidates(text,text)": """
        CREATE FUNCTION sign_in_candidates(p_email text, p_tenant_slug text)
        RETURNS TABLE (user_id uuid, tenant_id uuid, password_hash text, active boolean)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
            SELECT u.id, u.tenant_id, u.password_hash, u.active AND t.active
            FROM users u JOIN tenants t ON t.id = u.tenant_id
            WHERE u.email = lower(btrim(p_email)) AND u.deleted_at IS NULL
              AND (p_tenant_slug IS NULL OR t.slug = p_tenant_slug)
            ORDER BY u.created_at
            LIMIT 20
        $$""",
    "use_api_key(text)": """
        CREATE FUNCTION use_api_key(p_key_hash text)
        RETURNS TABLE (id uuid, tenant_id uuid, permissions text[])
        LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = {path} AS $$
            UPDATE api_keys k SET last_used_at = now()
            FROM tenants t
            WHERE k.key_hash = p_key_hash AND k.revoked_at IS NULL
              AND t.id = k.tenant_id AND t.active
            RETURNING k.id, k.tenant_id, k.permissions
        $$""",
}


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def _key(table: str) -> list[sa.SchemaItem]:
    """Id, tenant, UNIQUE(tenant_id, id) and the tenant FK, as every tenant-owned table has."""
    return [
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{table}_tenant_id_id")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{table}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
    ]


def _create_tables() -> None:
    op.create_table(
        "api_keys",
        *_key("api_keys"),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), nullable=False),
        sa.Column("key_hash", sa.Text(), nullable=False),
        sa.Column("permissions", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "cardinality(permissions) > 0", name=op.f("ck_api_keys_permissions_not_empty")
        ),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_api_keys_tenant_id_created_by_users"),
            ondelete="SET NULL (created_by)",
        ),
    )
    op.create_table(
        "config_audit",
        *_key("config_audit"),
        sa.Column("actor_type", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("actor_api_key_id", sa.UUID(), nullable=True),
        sa.Column("actor_label", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Text(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("old_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "actor_type IN ('user', 'api_key', 'system')", name=op.f("ck_config_audit_actor_type")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "actor_user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_config_audit_tenant_id_actor_user_id_users"),
            ondelete="SET NULL (actor_user_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "actor_api_key_id"],
            ["api_keys.tenant_id", "api_keys.id"],
            name=op.f("fk_config_audit_tenant_id_actor_api_key_id_api_keys"),
            ondelete="SET NULL (actor_api_key_id)",
        ),
    )
    op.create_index(
        "ix_config_audit_tenant_id_created_at", "config_audit", ["tenant_id", "created_at"]
    )
    op.create_table(
        "password_tokens",
        *_key("password_tokens"),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "purpose IN ('invite', 'reset')", name=op.f("ck_password_tokens_purpose")
        ),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_tokens_token_hash")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_password_tokens_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "sign_in_attempts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("account_hash", sa.Text(), nullable=False),
        sa.Column("client_address", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "outcome IN ('succeeded', 'failed', 'throttled')",
            name=op.f("ck_sign_in_attempts_outcome"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_attempts")),
    )
    op.create_index(
        "ix_sign_in_attempts_account_hash_created_at",
        "sign_in_attempts",
        ["account_hash", "created_at"],
    )
    op.create_index(
        "ix_sign_in_attempts_client_address_created_at",
        "sign_in_attempts",
        ["client_address", "created_at"],
    )


def upgrade() -> None:
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    _create_tables()
    for table in (*TENANT_TABLES, "sign_in_attempts"):
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
    for table in TENANT_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
    for signature, body in FUNCTIONS.items():
        op.execute(body.format(path=f"{schema}, pg_temp"))
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {role}")

    bind = op.get_bind()
    for code, description in PERMISSIONS.items():
        bind.execute(
            sa.text("INSERT INTO permissions (code, description) VALUES (:code, :description)"),
            {"code": code, "description": description},
        )
        bind.execute(
            sa.text(
                "INSERT INTO role_permissions (role_id, permission_id)"
                " SELECT r.id, p.id FROM roles r, permissions p"
                " WHERE r.name = 'admin' AND p.code = :code"
            ),
            {"code": code},
        )


def downgrade() -> None:
    bind = op.get_bind()
    for code in PERMISSIONS:
        bind.execute(sa.text("DELETE FROM permissions WHERE code = :code"), {"code": code})
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_table("sign_in_attempts")
    op.drop_table("password_tokens")
    op.drop_table("config_audit")
    op.drop_table("api_keys")
