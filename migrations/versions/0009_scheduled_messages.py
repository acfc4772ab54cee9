"""Scheduled messages: pre-arrival (T-3, T-1, day-of) and other time-based triggers per stay.

- ``scheduled_messages``: one row per reservation and trigger (rule), its due time, status
  (scheduled, sent, skipped, cancelled, failed), the reason for every skip, whether staff edited
  it, and the outbound message it became.
- ``opt_outs``: a guest who answered STOP on a channel kind (removed by START).
- ``reservations``: optional arrival and departure times, and when the stay was booked.
- ``templates``: one live template per channel kind, rule key *and language*.
- ``due_scheduled_messages(now, batch)``: the schedulers' one cross-tenant read.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from persistence.migrate import MigrationTarget

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TENANT_TABLES = ("scheduled_messages", "opt_outs")
PROVIDERS = "'green_api', 'whatsapp_cloud', 'twilio_sms', 'telegram', 'email'"
LONG_NAMES = {
    "whatsapp_template_id": "fk_scheduled_messages_tenant_id_whatsapp_template_id_wh_44ce"
}
DUE = "due_scheduled_messages(timestamp with time zone, integer)"
DUE_BODY = """
    CREATE FUNCTION due_scheduled_messages(p_now timestamptz, p_batch integer)
    RETURNS TABLE (tenant_id uuid, scheduled_message_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT s.tenant_id, s.id
        FROM scheduled_messages s JOIN tenants t ON t.id = s.tenant_id AND t.active
        WHERE s.status = 'scheduled' AND s.due_at <= p_now
        ORDER BY s.due_at
        LIMIT least(greatest(p_batch, 0), 1000)
    $$"""


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def _key(table: str) -> list[sa.SchemaItem]:
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


def _fk(table: str, column: str, target: str, *, set_null: bool = False) -> sa.ForeignKeyConstraint:
    # The models' naming convention, shortened as SQLAlchemy does past 63 characters.
    name = LONG_NAMES.get(column, f"fk_{table}_tenant_id_{column}_{target}")
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(name),
        ondelete=f"SET NULL ({column})" if set_null else "CASCADE",
    )


def _create_tables() -> None:
    table = "scheduled_messages"
    op.create_table(
        table,
        *_key(table),
        sa.Column("reservation_id", sa.UUID(), nullable=False),
        sa.Column("trigger_id", sa.UUID(), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=True),
        sa.Column("rule_key", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'scheduled'"), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("edited_by_staff", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("edited_by", sa.UUID(), nullable=True),
        sa.Column("custom_body", sa.Text(), nullable=True),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column("channel_id", sa.UUID(), nullable=True),
        sa.Column("whatsapp_template_id", sa.UUID(), nullable=True),
        sa.Column(
            "whatsapp_params",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('scheduled', 'sent', 'skipped', 'cancelled', 'failed')",
            name=op.f("ck_scheduled_messages_status"),
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "reservation_id",
            "trigger_id",
            name=op.f("uq_scheduled_messages_tenant_id_reservation_id_trigger_id"),
        ),
        _fk(table, "reservation_id", "reservations"),
        _fk(table, "trigger_id", "triggers"),
        _fk(table, "template_id", "templates", set_null=True),
        _fk(table, "message_id", "messages", set_null=True),
        _fk(table, "channel_id", "channels", set_null=True),
        _fk(table, "whatsapp_template_id", "whatsapp_templates", set_null=True),
        _fk(table, "edited_by", "users", set_null=True),
    )
    op.create_index(
        "ix_scheduled_messages_due",
        table,
        ["due_at"],
        postgresql_where=sa.text("status = 'scheduled'"),
    )
    op.create_index(
        "uq_scheduled_messages_message_id",
        table,
        ["tenant_id", "message_id"],
        unique=True,
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )
    table = "opt_outs"
    op.create_table(
        table,
        *_key(table),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("keyword", sa.Text(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column("opted_out_at", sa.DateTime(timezone=True), nullable=False),
        *_timestamps(),
        sa.CheckConstraint(f"kind IN ({PROVIDERS})", name=op.f("ck_opt_outs_kind")),
        sa.UniqueConstraint(
            "tenant_id", "guest_id", "kind", name=op.f("uq_opt_outs_tenant_id_guest_id_kind")
        ),
        _fk(table, "guest_id", "guests"),
        _fk(table, "message_id", "messages", set_null=True),
    )


def upgrade() -> None:
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    op.add_column("reservations", sa.Column("check_in_time", sa.Time(), nullable=True))
    op.add_column("reservations", sa.Column("check_out_time", sa.Time(), nullable=True))
    op.add_column("reservations", sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_index("uq_templates_live_rule", table_name="templates")
    op.create_index(
        "uq_templates_live_rule",
        "templates",
        ["tenant_id", "channel", "rule_key", "language"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    _create_tables()
    for table in TENANT_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
    op.execute(DUE_BODY.format(path=f"{schema}, pg_temp"))
    op.execute(f"REVOKE ALL ON FUNCTION {DUE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {DUE} TO {role}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {DUE}")
    op.drop_table("opt_outs")
    op.drop_table("scheduled_messages")
    op.drop_index("uq_templates_live_rule", table_name="templates")
    op.create_index(
        "uq_templates_live_rule",
        "templates",
        ["tenant_id", "channel", "rule_key"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_column("reservations", "booked_at")
    op.drop_column("reservations", "check_out_time")
    op.drop_column("reservations", "check_in_time")
