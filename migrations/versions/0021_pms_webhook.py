"""A PMS pushes stays to a signed webhook: the ingress's one cross-tenant read of an integration.

- ``integration_for_webhook(id)``: the integration the URL ``/webhooks/pms/{id}`` names — its
  tenant, type and encrypted credentials (the webhook secret is one of them) — only while the
  tenant is active and the integration not disabled; nothing else of any tenant.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOOKUP = "integration_for_webhook(uuid)"
LOOKUP_BODY = """
    CREATE FUNCTION integration_for_webhook(p_id uuid)
    RETURNS TABLE (tenant_id uuid, id uuid, integration_type text, credentials_encrypted text)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT i.tenant_id, i.id, i.integration_type, i.credentials_encrypted
        FROM integration_credentials i JOIN tenants t ON t.id = i.tenant_id AND t.active
        WHERE i.id = p_id AND i.connection_status <> 'disabled'
    $$"""


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def upgrade() -> None:
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    op.execute(LOOKUP_BODY.format(path=f"{schema}, pg_temp"))
    op.execute(f"REVOKE ALL ON FUNCTION {LOOKUP} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {LOOKUP} TO {role}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {LOOKUP}")
