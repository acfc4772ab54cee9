"""Replies composed by the tenant's own language model: its settings, drafts and usage.

- ``ai_model_settings``: one per tenant, off by default: an OpenAI-compatible endpoint, the
  model, its API key (a Fernet token), temperature, max tokens, timeout, monthly token budget,
  the 429 pause (``paused_until``) and when admins were last told it keeps failing.
- ``compositions``: one per inbound message the model was asked to word (UNIQUE(tenant_id,
  message_id)), claimed before the call; its outcome, reason, tokens and latency.
- ``staff_notifications.type``: ``assistant_failing``, the model kept failing (guests got the
  template answers meanwhile).

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TENANT_TABLES = ("ai_model_settings", "compositions")
NOTIFICATION_TYPE = "assistant_failing"
TYPE_CHECK = "ck_staff_notifications_type"


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
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_{target}"),
        ondelete=f"SET NULL ({column})" if set_null else "CASCADE",
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _create_tables() -> None:
    table = "ai_model_settings"
    op.create_table(
        table,
        *_key(table),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("api_key_encrypted", sa.Text(), nullable=True),
        sa.Column("temperature", sa.Numeric(3, 2), server_default=sa.text("0.20"), nullable=False),
        sa.Column("max_tokens", sa.Integer(), server_default=sa.text("400"), nullable=False),
        sa.Column("timeout_seconds", sa.Integer(), server_default=sa.text("20"), nullable=False),
        sa.Column("monthly_token_budget", sa.BigInteger(), nullable=True),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failure_alerted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_ai_model_settings_tenant_id")),
        _check(table, "temperature", "temperature BETWEEN 0 AND 2"),
        _check(table, "max_tokens", "max_tokens BETWEEN 1 AND 32000"),
        _check(table, "timeout_seconds", "timeout_seconds BETWEEN 1 AND 120"),
        _check(
            table,
            "monthly_token_budget",
            "monthly_token_budget IS NULL OR monthly_token_budget >= 0",
        ),
        _check(
            table,
            "enabled_needs_model",
            "NOT enabled OR (base_url IS NOT NULL AND model IS NOT NULL)",
        ),
    )
    table = "compositions"
    op.create_table(
        table,
        *_key(table),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'claimed'"), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("reply", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("drafted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outbound_message_id", sa.UUID(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint(
            "tenant_id", "message_id", name=op.f("uq_compositions_tenant_id_message_id")
        ),
        _fk(table, "message_id", "messages"),
        _fk(table, "conversation_id", "conversations"),
        _fk(table, "outbound_message_id", "messages", set_null=True),
        _check(table, "status", "status IN ('claimed', 'settled', 'drafted')"),
        _check(
            table,
            "outcome",
            "outcome IS NULL OR outcome IN ('composed', 'template', 'escalated')",
        ),
        _check(table, "attempts", "attempts >= 1"),
        _check(table, "tokens", "prompt_tokens >= 0 AND completion_tokens >= 0"),
    )
    op.create_index("ix_compositions_tenant_id_created_at", table, ["tenant_id", "created_at"])


def _notification_types() -> list[str]:
    """The types the check admits now (earlier migrations add theirs), in order."""
    definition = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conname = :name AND conrelid = 'staff_notifications'::regclass"
            ),
            {"name": TYPE_CHECK},
        )
        .scalar_one()
    )
    return re.findall(r"'([a-z_]+)'", definition)


def _replace_type_check(types: list[str]) -> None:
    listed = ", ".join(f"'{name}'" for name in types)
    op.drop_constraint(op.f(TYPE_CHECK), "staff_notifications", type_="check")
    op.create_check_constraint(op.f(TYPE_CHECK), "staff_notifications", f"type IN ({listed})")


def upgrade() -> None:
    role = f'"{_target().app_role}"'
    _create_tables()
    for table in TENANT_TABLES:
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {role}")
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY tenant_isolation ON {table} "
            f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
        )
    types = _notification_types()
    if NOTIFICATION_TYPE not in types:
        _replace_type_check([*types, NOTIFICATION_TYPE])


def downgrade() -> None:
    op.execute(
        sa.text("DELETE FROM staff_notifications WHERE type = :type").bindparams(
            type=NOTIFICATION_TYPE
        )
    )
    _replace_type_check([name for name in _notification_types() if name != NOTIFICATION_TYPE])
    op.drop_table("compositions")
    op.drop_table("ai_model_settings")
