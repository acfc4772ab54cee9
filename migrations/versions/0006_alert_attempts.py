"""Staff alerts recorded per target before they are sent (at-most-once alerts).

``staff_alert_deliveries`` holds one row per notification, alert target and rung of the
re-alert ladder; ``staff_notifications.acknowledged_via`` names the alert target whose link
acknowledged it.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "staff_alert_deliveries"
CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def upgrade() -> None:
    op.add_column("staff_notifications", sa.Column("acknowledged_via", sa.Text(), nullable=True))
    # Constraint names are the models' naming convention, shortened as SQLAlchemy does past
    # PostgreSQL's 63 characters.
    op.create_table(
        TABLE,
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("notification_id", sa.UUID(), nullable=False),
        sa.Column("target_id", sa.UUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'sending'"), nullable=False),
        sa.Column("tries", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "status IN ('sending', 'sent', 'failed', 'uncertain')",
            name=op.f("ck_staff_alert_deliveries_status"),
        ),
        sa.CheckConstraint("attempt >= 1", name=op.f("ck_staff_alert_deliveries_attempt")),
        sa.CheckConstraint("tries >= 1", name=op.f("ck_staff_alert_deliveries_tries")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "notification_id"],
            ["staff_notifications.tenant_id", "staff_notifications.id"],
            name=op.f("fk_staff_alert_deliveries_tenant_id_notification_id_sta_d6ca"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "target_id"],
            ["staff_alert_targets.tenant_id", "staff_alert_targets.id"],
            name=op.f("fk_staff_alert_deliveries_tenant_id_target_id_staff_ale_66d9"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_staff_alert_deliveries_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alert_deliveries")),
        sa.UniqueConstraint(
            "tenant_id",
            "notification_id",
            "target_id",
            "attempt",
            name=op.f("uq_staff_alert_deliveries_attempt"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_staff_alert_deliveries_tenant_id_id")),
    )
    # The same row-level security as every tenant-owned table (see 0002).
    role = f'"{_target().app_role}"'
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {role}")
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )


def downgrade() -> None:
    op.drop_table(TABLE)
    op.drop_column("staff_notifications", "acknowledged_via")
