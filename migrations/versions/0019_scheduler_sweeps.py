"""The scheduler's sweeps: snoozed conversations wake when their time comes, and idle bot
dialogues expire (with the flow's timeout message) when their inactivity timeout passes.

- ``ix_conversations_snoozed_until``: the snoozed conversations by wake-up time (partial: only
  ``status = 'snoozed'`` rows), so the sweep reads what is due and nothing else.
- ``due_snoozed_conversations(now, batch)``: the scheduler's cross-tenant read of snoozed
  conversations whose ``snoozed_until`` has passed, earliest first (each is then woken in its
  tenant's transaction, under row-level security).
- ``ix_bot_dialog_states_expires_at`` and ``due_expired_dialogues(now, batch)``: the same for
  active dialogues whose ``expires_at`` has passed.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DUE = "due_snoozed_conversations(timestamp with time zone, integer)"
DUE_BODY = """
    CREATE FUNCTION due_snoozed_conversations(p_now timestamptz, p_batch integer)
    RETURNS TABLE (tenant_id uuid, conversation_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT c.tenant_id, c.id
        FROM conversations c JOIN tenants t ON t.id = c.tenant_id AND t.active
        WHERE c.status = 'snoozed' AND c.snoozed_until <= p_now
        ORDER BY c.snoozed_until
        LIMIT least(greatest(p_batch, 0), 1000)
    $$"""

DIALOGUES = "due_expired_dialogues(timestamp with time zone, integer)"
DIALOGUES_BODY = """
    CREATE FUNCTION due_expired_dialogues(p_now timestamptz, p_batch integer)
    RETURNS TABLE (tenant_id uuid, conversation_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT d.tenant_id, d.conversation_id
        FROM bot_dialog_states d JOIN tenants t ON t.id = d.tenant_id AND t.active
        WHERE d.status = 'active' AND d.expires_at <= p_now
        ORDER BY d.expires_at
        LIMIT least(greatest(p_batch, 0), 1000)
    $$"""


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def upgrade() -> None:
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    op.create_index(
        "ix_conversations_snoozed_until",
        "conversations",
        ["snoozed_until"],
        postgresql_where=sa.text("status = 'snoozed'"),
    )
    op.create_index(
        "ix_bot_dialog_states_expires_at",
        "bot_dialog_states",
        ["expires_at"],
        postgresql_where=sa.text("status = 'active'"),
    )
    for function, body in ((DUE, DUE_BODY), (DIALOGUES, DIALOGUES_BODY)):
        op.execute(body.format(path=f"{schema}, pg_temp"))
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {role}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {DIALOGUES}")
    op.execute(f"DROP FUNCTION IF EXISTS {DUE}")
    op.drop_index("ix_bot_dialog_states_expires_at", table_name="bot_dialog_states")
    op.drop_index("ix_conversations_snoozed_until", table_name="conversations")
