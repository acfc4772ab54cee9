"""Service levels: policies with first-response, next-response and resolution targets on a business-hours clock, the targets copied onto conversations, warnings and breaches.

- ``sla_policies``: ``next_response_minutes``; ``clock`` (``calendar`` or ``business_hours``,
  replacing ``business_hours_only``); what they apply to (``priorities``, ``channel_ids``,
  ``team_ids``, ``property_ids``: empty means any; replacing ``priority``); ``position`` (the
  first matching active policy wins); ``warning_percent`` (share of a target at which staff are
  warned; null: no warning); ``bot_reply_counts`` (a bot reply satisfies a response target).
- ``business_hours``: several shifts per weekday; ``overnight`` (the shift ends the next day;
  ``closes_at <= opens_at`` exactly then, so opens = closes overnight is a 24-hour shift);
  either a property's or a team's (``team_id``), exactly one.
- ``holidays``: days without business hours, a property's or (no property) every property's.
- ``conversations``: the policy applied (``sla_policy_id``), its targets copied
  (``sla_*_minutes``, ``sla_clock``, ``sla_warning_percent``, ``sla_bot_reply_counts``), the
  current deadlines (``first_response_due_at``, ``next_response_due_at``, ``resolution_due_at``:
  null when the target is met, not running or paused), when each warns, what was left of each
  when the clock paused (``sla_*_left``), and when the sweeper looks next (``sla_next_check_at``).
- ``sla_violations.kind``: ``next_response`` besides ``first_response`` and ``resolution``.
- ``sla_warnings``: one per conversation, policy and target, like ``sla_violations``.
- ``due_sla_checks(now, batch)``: the sweeper's one cross-tenant read.
- Permission ``sla.manage`` (SLA policies), granted to admin and supervisor.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TENANT_TABLES = ("holidays", "sla_warnings")
PERMISSIONS = {"sla.manage": "Edit SLA policies: targets, clock and what they apply to."}
GRANTED_TO = ("admin", "supervisor")
KINDS = "'first_response', 'next_response', 'resolution'"
PRIORITIES = "ARRAY['low', 'normal', 'high', 'urgent']::text[]"
KINDS_CHECK = "ck_sla_violations_kind"
CHECK_INDEX = "ix_conversations_sla_next_check_at"
DUE = "due_sla_checks(timestamp with time zone, integer)"
DUE_BODY = """
    CREATE FUNCTION due_sla_checks(p_now timestamptz, p_batch integer)
    RETURNS TABLE (tenant_id uuid, conversation_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT c.tenant_id, c.id
        FROM conversations c JOIN tenants t ON t.id = c.tenant_id AND t.active
        WHERE c.sla_next_check_at IS NOT NULL AND c.sla_next_check_at <= p_now
        ORDER BY c.sla_next_check_at
        LIMIT least(greatest(p_batch, 0), 1000)
    $$"""
TARGETS = ("first_response", "next_response", "resolution")


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


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        ondelete="CASCADE",
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _alter_policies() -> None:
    table = "sla_policies"
    add = op.add_column
    add(table, sa.Column("next_response_minutes", sa.Integer(), nullable=True))
    add(table, sa.Column("clock", sa.Text(), server_default=sa.text("'calendar'"), nullable=False))
    empty_text, empty_uuid = sa.text("'{}'::text[]"), sa.text("'{}'::uuid[]")
    add(
        table,
        sa.Column("priorities", sa.ARRAY(sa.Text()), server_default=empty_text, nullable=False),
    )
    for column in ("channel_ids", "team_ids", "property_ids"):
        add(
            table, sa.Column(column, sa.ARRAY(sa.UUID()), server_default=empty_uuid, nullable=False)
        )
    add(table, sa.Column("position", sa.Integer(), server_default=sa.text("100"), nullable=False))
    add(
        table,
        sa.Column(
            "warning_percent", sa.SmallInteger(), server_default=sa.text("80"), nullable=True
        ),
    )
    add(
        table,
        sa.Column(
            "bot_reply_counts", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.execute(
        "UPDATE sla_policies SET priorities = ARRAY[priority],"
        " clock = CASE WHEN business_hours_only THEN 'business_hours' ELSE 'calendar' END"
    )
    # Policies there already warn at 80 %; a new one says (null: no warning).
    op.alter_column(table, "warning_percent", server_default=None)
    op.drop_constraint(op.f("ck_sla_policies_priority"), table, type_="check")
    op.drop_column(table, "priority")
    op.drop_column(table, "business_hours_only")
    checks = {
        "next_response_minutes": "next_response_minutes IS NULL OR next_response_minutes > 0",
        "clock": "clock IN ('calendar', 'business_hours')",
        "priorities": f"priorities <@ {PRIORITIES}",
        "position": "position BETWEEN 0 AND 10000",
        "warning_percent": "warning_percent IS NULL OR warning_percent BETWEEN 1 AND 99",
    }
    for name, condition in checks.items():
        op.create_check_constraint(op.f(f"ck_{table}_{name}"), table, condition)


def _undo_policies() -> None:
    table = "sla_policies"
    op.add_column(
        table, sa.Column("priority", sa.Text(), server_default=sa.text("'normal'"), nullable=False)
    )
    op.add_column(
        table,
        sa.Column(
            "business_hours_only", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.execute(
        "UPDATE sla_policies SET priority = coalesce(priorities[1], 'normal'),"
        " business_hours_only = (clock = 'business_hours')"
    )
    op.alter_column(table, "priority", server_default=None)
    op.create_check_constraint(
        op.f("ck_sla_policies_priority"), table, "priority IN ('low', 'normal', 'high', 'urgent')"
    )
    for name in ("next_response_minutes", "clock", "priorities", "position", "warning_percent"):
        op.drop_constraint(op.f(f"ck_{table}_{name}"), table, type_="check")
    for column in (
        "next_response_minutes",
        "clock",
        "priorities",
        "channel_ids",
        "team_ids",
        "property_ids",
        "position",
        "warning_percent",
        "bot_reply_counts",
    ):
        op.drop_column(table, column)


def _alter_business_hours() -> None:
    table = "business_hours"
    op.drop_constraint(op.f("uq_business_hours_tenant_id_property_id_weekday"), table)
    op.drop_constraint(op.f("ck_business_hours_opens_before_closes"), table, type_="check")
    op.alter_column(table, "property_id", nullable=True)
    op.add_column(table, sa.Column("team_id", sa.UUID(), nullable=True))
    op.add_column(
        table,
        sa.Column("overnight", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_foreign_key(
        op.f("fk_business_hours_tenant_id_team_id_teams"),
        table,
        "teams",
        ["tenant_id", "team_id"],
        ["tenant_id", "id"],
        ondelete="CASCADE",
    )
    op.create_check_constraint(
        op.f("ck_business_hours_overnight"), table, "overnight = (closes_at <= opens_at)"
    )
    op.create_check_constraint(
        op.f("ck_business_hours_one_owner"), table, "num_nonnulls(property_id, team_id) = 1"
    )
    op.create_index(
        "ix_business_hours_tenant_id_property_id_weekday",
        table,
        ["tenant_id", "property_id", "weekday"],
    )
    op.create_index(
        "ix_business_hours_tenant_id_team_id_weekday", table, ["tenant_id", "team_id", "weekday"]
    )


def _undo_business_hours() -> None:
    table = "business_hours"
    op.execute("DELETE FROM business_hours WHERE team_id IS NOT NULL OR overnight")
    # Split shifts leave the earliest shift of each day (the old table had one per day).
    op.execute(
        "DELETE FROM business_hours b USING business_hours o"
        " WHERE o.tenant_id = b.tenant_id AND o.property_id = b.property_id"
        " AND o.weekday = b.weekday AND (o.opens_at, o.id) < (b.opens_at, b.id)"
    )
    op.drop_index("ix_business_hours_tenant_id_team_id_weekday", table_name=table)
    op.drop_index("ix_business_hours_tenant_id_property_id_weekday", table_name=table)
    op.drop_constraint(op.f("ck_business_hours_one_owner"), table, type_="check")
    op.drop_constraint(op.f("ck_business_hours_overnight"), table, type_="check")
    op.drop_constraint(op.f("fk_business_hours_tenant_id_team_id_teams"), table, type_="foreignkey")
    op.drop_column(table, "overnight")
    op.drop_column(table, "team_id")
    op.alter_column(table, "property_id", nullable=False)
    op.create_check_constraint(
        op.f("ck_business_hours_opens_before_closes"), table, "opens_at < closes_at"
    )
    op.create_unique_constraint(
        op.f("uq_business_hours_tenant_id_property_id_weekday"),
        table,
        ["tenant_id", "property_id", "weekday"],
    )


def _create_tables() -> None:
    table = "holidays"
    op.create_table(
        table,
        *_key(table),
        sa.Column("property_id", sa.UUID(), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        *_timestamps(),
        _fk(table, "property_id", "properties"),
    )
    op.create_index(
        "uq_holidays_property_day",
        table,
        ["tenant_id", "property_id", "day"],
        unique=True,
        postgresql_where=sa.text("property_id IS NOT NULL"),
    )
    op.create_index(
        "uq_holidays_every_property_day",
        table,
        ["tenant_id", "day"],
        unique=True,
        postgresql_where=sa.text("property_id IS NULL"),
    )
    table = "sla_warnings"
    op.create_table(
        table,
        *_key(table),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("warned_at", sa.DateTime(timezone=True), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint(
            "tenant_id",
            "conversation_id",
            "policy_id",
            "kind",
            name=op.f("uq_sla_warnings_tenant_id_conversation_id_policy_id_kind"),
        ),
        _fk(table, "conversation_id", "conversations"),
        _fk(table, "policy_id", "sla_policies"),
        _check(table, "kind", f"kind IN ({KINDS})"),
    )


def _alter_conversations() -> None:
    table = "conversations"
    columns = [
        sa.Column("sla_policy_id", sa.UUID(), nullable=True),
        sa.Column("sla_first_response_minutes", sa.Integer(), nullable=True),
        sa.Column("sla_next_response_minutes", sa.Integer(), nullable=True),
        sa.Column("sla_resolution_minutes", sa.Integer(), nullable=True),
        sa.Column("sla_clock", sa.Text(), nullable=True),
        sa.Column("sla_warning_percent", sa.SmallInteger(), nullable=True),
        sa.Column(
            "sla_bot_reply_counts", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    ]
    for target in TARGETS:
        columns += [
            sa.Column(f"{target}_due_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column(f"sla_{target}_warn_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column(f"sla_{target}_left", sa.Interval(), nullable=True),
        ]
    columns.append(sa.Column("sla_next_check_at", sa.DateTime(timezone=True), nullable=True))
    for column in columns:
        op.add_column(table, column)
    op.create_foreign_key(
        op.f("fk_conversations_tenant_id_sla_policy_id_sla_policies"),
        table,
        "sla_policies",
        ["tenant_id", "sla_policy_id"],
        ["tenant_id", "id"],
        ondelete="SET NULL (sla_policy_id)",
    )
    op.create_check_constraint(
        op.f("ck_conversations_sla_clock"),
        table,
        "sla_clock IS NULL OR sla_clock IN ('calendar', 'business_hours')",
    )
    op.create_index(
        CHECK_INDEX,
        table,
        ["sla_next_check_at"],
        postgresql_where=sa.text("sla_next_check_at IS NOT NULL"),
    )


def _undo_conversations() -> None:
    table = "conversations"
    op.drop_index(CHECK_INDEX, table_name=table)
    op.drop_constraint(op.f("ck_conversations_sla_clock"), table, type_="check")
    op.drop_constraint(
        op.f("fk_conversations_tenant_id_sla_policy_id_sla_policies"), table, type_="foreignkey"
    )
    names = [
        "sla_policy_id",
        "sla_first_response_minutes",
        "sla_next_response_minutes",
        "sla_resolution_minutes",
        "sla_clock",
        "sla_warning_percent",
        "sla_bot_reply_counts",
        "sla_next_check_at",
    ]
    for target in TARGETS:
        names += [f"{target}_due_at", f"sla_{target}_warn_at", f"sla_{target}_left"]
    for name in names:
        op.drop_column(table, name)


def _replace_kinds(kinds: str) -> None:
    op.drop_constraint(op.f(KINDS_CHECK), "sla_violations", type_="check")
    op.create_check_constraint(op.f(KINDS_CHECK), "sla_violations", f"kind IN ({kinds})")


def upgrade() -> None:
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    _alter_policies()
    _alter_business_hours()
    _create_tables()
    _alter_conversations()
    _replace_kinds(KINDS)
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
                " WHERE r.name = ANY(:roles) AND p.code = :code"
            ),
            {"roles": list(GRANTED_TO), "code": code},
        )


def downgrade() -> None:
    bind = op.get_bind()
    for code in PERMISSIONS:
        bind.execute(sa.text("DELETE FROM permissions WHERE code = :code"), {"code": code})
    op.execute(f"DROP FUNCTION IF EXISTS {DUE}")
    op.execute("DELETE FROM sla_violations WHERE kind = 'next_response'")
    _replace_kinds("'first_response', 'resolution'")
    _undo_conversations()
    op.drop_table("sla_warnings")
    op.drop_table("holidays")
    _undo_business_hours()
    _undo_policies()
