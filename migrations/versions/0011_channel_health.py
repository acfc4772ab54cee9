"""Channel webhook health, and change notices for the pipeline's caches.

- ``channels``: ``webhook_last_checked_at``, ``webhook_status`` (``ok``, ``failing``,
  ``unreachable``; null until checked) and ``webhook_error`` (the provider's reason).
- ``config_changed()``: a trigger on the tables the ingress and the autoreply cache
  (channels, tenants, AI settings, prompts, assistant profiles, the knowledge base) that sends
  ``pg_notify('frontdesk_config', {"table", "tenant_id"[, "public_id"]})`` in the changing
  transaction, so listeners hear of it on commit and never of a rolled-back change. PostgreSQL
  folds identical notices of one transaction into one, so a bulk import is one notice per table.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFY_CHANNEL = "frontdesk_config"
# Table -> the column naming its tenant (a tenant's own row names itself by ``id``).
WATCHED = {
    "channels": "tenant_id",
    "tenants": "id",
    "ai_settings": "tenant_id",
    "prompts": "tenant_id",
    "assistant_profiles": "tenant_id",
    "knowledge_items": "tenant_id",
    "knowledge_categories": "tenant_id",
}
FUNCTION = f"""
CREATE FUNCTION config_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {{path}} AS $$
DECLARE
    changed record;
    notice jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN changed := OLD; ELSE changed := NEW; END IF;
    notice := jsonb_build_object(
        'table', TG_TABLE_NAME,
        'tenant_id', to_jsonb(changed) ->> TG_ARGV[0]
    );
    IF TG_TABLE_NAME = 'channels' THEN
        notice := notice || jsonb_build_object('public_id', changed.public_id);
    END IF;
    PERFORM pg_notify('{NOTIFY_CHANNEL}', notice::text);
    RETURN NULL;
END
$$"""


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def upgrade() -> None:
    op.add_column("channels", sa.Column("webhook_last_checked_at", sa.DateTime(timezone=True)))
    op.add_column("channels", sa.Column("webhook_status", sa.Text()))
    op.add_column("channels", sa.Column("webhook_error", sa.Text()))
    op.create_check_constraint(
        op.f("ck_channels_webhook_status"),
        "channels",
        "webhook_status IS NULL OR webhook_status IN ('ok', 'failing', 'unreachable')",
    )
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    op.execute(FUNCTION.format(path=f"{schema}, pg_temp"))
    # Like every function of the schema: pinned, and not for PUBLIC (triggers call it anyway).
    op.execute("REVOKE ALL ON FUNCTION config_changed() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION config_changed() TO {role}")
    for table, tenant_column in WATCHED.items():
        op.execute(
            f"CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE ON {table}"
            f" FOR EACH ROW EXECUTE FUNCTION config_changed('{tenant_column}')"
        )


def downgrade() -> None:
    for table in WATCHED:
        op.execute(f"DROP TRIGGER IF EXISTS config_changed ON {table}")
    op.execute("DROP FUNCTION IF EXISTS config_changed()")
    op.drop_constraint(op.f("ck_channels_webhook_status"), "channels", type_="check")
    op.drop_column("channels", "webhook_error")
    op.drop_column("channels", "webhook_status")
    op.drop_column("channels", "webhook_last_checked_at")
