"""Bot dialog flows: published versions, sessions per conversation and the order of a conversation's messages.

- ``bot_scenarios``: one row per scenario (name unique per tenant), the version new dialogues
  start on (``published_version``) and a description; ``version`` counts its versions and
  ``flow`` keeps the latest one.
- ``bot_scenario_versions``: every version's flow, draft or published; a running dialogue
  points at the version it started on, so publishing never changes it under the guest.
- ``bot_dialog_states``: one row per conversation, the lock that orders its messages; its
  dialogue (scenario, version, step, collected values, retries) when one runs, its status
  (idle, active, completed, cancelled, handed_off, expired) and the last message it decided.
- ``messages.options``: a bot question's options, sent as buttons where the channel has them.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from persistence.migrate import MigrationTarget

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
VERSIONS = "bot_scenario_versions"
STATES = "bot_dialog_states"
STATUSES = "'idle', 'active', 'completed', 'cancelled', 'handed_off', 'expired'"


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


def upgrade() -> None:
    role = f'"{_target().app_role}"'
    op.add_column("bot_scenarios", sa.Column("description", sa.Text(), nullable=True))
    op.add_column("bot_scenarios", sa.Column("published_version", sa.Integer(), nullable=True))
    op.create_unique_constraint(
        op.f("uq_bot_scenarios_tenant_id_name"), "bot_scenarios", ["tenant_id", "name"]
    )
    op.create_table(
        VERSIONS,
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("scenario_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("flow", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'draft'"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint("version > 0", name=op.f(f"ck_{VERSIONS}_version")),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'retired')", name=op.f(f"ck_{VERSIONS}_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{VERSIONS}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{VERSIONS}_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "scenario_id",
            "version",
            name=op.f(f"uq_{VERSIONS}_tenant_id_scenario_id_version"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{VERSIONS}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "scenario_id"],
            ["bot_scenarios.tenant_id", "bot_scenarios.id"],
            name=op.f(f"fk_{VERSIONS}_tenant_id_scenario_id_bot_scenarios"),
            ondelete="CASCADE",
        ),
    )  # fmt: skip
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {VERSIONS} TO {role}")
    op.execute(f"ALTER TABLE {VERSIONS} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {VERSIONS} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {VERSIONS} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )

    op.alter_column(STATES, "scenario_id", nullable=True)
    op.alter_column(STATES, "current_step", nullable=True)
    op.add_column(STATES, sa.Column("version_id", sa.UUID(), nullable=True))
    op.add_column(
        STATES, sa.Column("status", sa.Text(), server_default=sa.text("'idle'"), nullable=False)
    )
    op.add_column(
        STATES, sa.Column("retries", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(STATES, sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(STATES, sa.Column("ended_reason", sa.Text(), nullable=True))
    op.add_column(STATES, sa.Column("last_message_id", sa.UUID(), nullable=True))
    op.add_column(STATES, sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(op.f(f"ck_{STATES}_status"), STATES, f"status IN ({STATUSES})")
    op.create_check_constraint(op.f(f"ck_{STATES}_retries"), STATES, "retries >= 0")
    op.create_foreign_key(
        op.f(f"fk_{STATES}_tenant_id_version_id_{VERSIONS}"),
        STATES,
        VERSIONS,
        ["tenant_id", "version_id"],
        ["tenant_id", "id"],
        ondelete="CASCADE",
    )
    # A bot question's options, for the channels that show them as buttons.
    op.add_column(
        "messages", sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )
    # Rows written before this revision were dialogues in progress.
    op.execute("UPDATE bot_dialog_states SET status = 'active' WHERE current_step IS NOT NULL")


def downgrade() -> None:
    op.drop_column("messages", "options")
    op.execute("DELETE FROM bot_dialog_states WHERE scenario_id IS NULL OR current_step IS NULL")
    op.drop_constraint(op.f(f"fk_{STATES}_tenant_id_version_id_{VERSIONS}"), STATES)
    op.drop_constraint(op.f(f"ck_{STATES}_retries"), STATES)
    op.drop_constraint(op.f(f"ck_{STATES}_status"), STATES)
    for column in (
        "last_message_at",
        "last_message_id",
        "ended_reason",
        "started_at",
        "retries",
        "status",
        "version_id",
    ):
        op.drop_column(STATES, column)
    op.alter_column(STATES, "current_step", nullable=False)
    op.alter_column(STATES, "scenario_id", nullable=False)
    op.drop_table(VERSIONS)
    op.drop_constraint(op.f("uq_bot_scenarios_tenant_id_name"), "bot_scenarios")
    op.drop_column("bot_scenarios", "published_version")
    op.drop_column("bot_scenarios", "description")
