"""Routing: agents' availability and capacity, and conversations assigned by team, skill and load.

- ``agent_status``: one per staff user who takes conversations: ``availability`` (online, away,
  offline; offline when there is no row), ``capacity`` (the most open conversations the router
  gives them), when the availability last changed and when the router last gave them one (ties
  go to whoever waited longest).
- ``routing_rules``: which team a conversation needing a human goes to, by channel, property
  and/or topic (every named criterion must match; the most specific rule wins, then
  ``position``); ``humans_first`` sends every new conversation on the rule's channel straight to
  a human.
- ``conversations``: ``assignment_manual`` (a person chose the assignee: the router never
  changes it), ``routing_requested_at`` (waiting for an agent since; null when not waiting) and
  ``routing_topic`` (the escalation's topic, a skill the agent needs); the queue's index.
- Permission ``routing.manage`` (capacity, other agents' availability, rules, rebalancing),
  granted to admin and supervisor.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TENANT_TABLES = ("agent_status", "routing_rules")
PERMISSIONS = {
    "routing.manage": "Set agents' capacity and availability, edit routing rules, rebalance.",
}
GRANTED_TO = ("admin", "supervisor")
QUEUE_INDEX = "ix_conversations_routing_queue"


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


def _create_tables() -> None:
    table = "agent_status"
    op.create_table(
        table,
        *_key(table),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("availability", sa.Text(), server_default=sa.text("'offline'"), nullable=False),
        sa.Column("capacity", sa.Integer(), server_default=sa.text("5"), nullable=False),
        sa.Column(
            "availability_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("tenant_id", "user_id", name=op.f("uq_agent_status_tenant_id_user_id")),
        _fk(table, "user_id", "users"),
        _check(table, "availability", "availability IN ('online', 'away', 'offline')"),
        _check(table, "capacity", "capacity BETWEEN 0 AND 200"),
    )
    table = "routing_rules"
    op.create_table(
        table,
        *_key(table),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), server_default=sa.text("100"), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=True),
        sa.Column("property_id", sa.UUID(), nullable=True),
        sa.Column("topic", sa.Text(), nullable=True),
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("humans_first", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_routing_rules_tenant_id_name")),
        _fk(table, "channel_id", "channels"),
        _fk(table, "property_id", "properties"),
        _fk(table, "team_id", "teams"),
        _check(table, "position", "position BETWEEN 0 AND 10000"),
        _check(table, "topic", "topic IS NULL OR topic ~ '^[a-z0-9][a-z0-9_-]{0,62}$'"),
        _check(table, "humans_first_needs_channel", "NOT humans_first OR channel_id IS NOT NULL"),
    )


def _alter_conversations() -> None:
    op.add_column(
        "conversations",
        sa.Column(
            "assignment_manual", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column(
        "conversations",
        sa.Column("routing_requested_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("conversations", sa.Column("routing_topic", sa.Text(), nullable=True))
    op.create_index(
        QUEUE_INDEX,
        "conversations",
        ["tenant_id", "routing_requested_at"],
        postgresql_where=sa.text("assignee_id IS NULL AND routing_requested_at IS NOT NULL"),
    )


def upgrade() -> None:
    role = f'"{_target().app_role}"'
    _create_tables()
    _alter_conversations()
    for table in TENANT_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
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
            {"code": code, "roles": list(GRANTED_TO)},
        )


def downgrade() -> None:
    bind = op.get_bind()
    for code in PERMISSIONS:
        bind.execute(sa.text("DELETE FROM permissions WHERE code = :code"), {"code": code})
    op.drop_index(QUEUE_INDEX, table_name="conversations")
    op.drop_column("conversations", "routing_topic")
    op.drop_column("conversations", "routing_requested_at")
    op.drop_column("conversations", "assignment_manual")
    op.drop_table("routing_rules")
    op.drop_table("agent_status")
