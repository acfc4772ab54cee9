"""Outbound sends recorded before the provider is called (at-most-once delivery).

A message the dispatcher is about to send is ``sending`` with its attempt's id and start time,
committed before the provider call; ``uncertain`` is a send whose outcome was lost and that the
provider could not confirm (staff are told, it is never sent again by itself).
``stale_outbound`` finds, across tenants, the sends left ``sending`` by a crash;
``delivery_uncertain`` is the staff notification raised for them.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'pending', 'sent', 'delivered', 'read', 'failed', 'cancelled'"
NEW_STATUSES = f"{OLD_STATUSES}, 'sending', 'uncertain'"
OLD_TYPES = (
    "'negative_sentiment', 'escalation', 'low_confidence', 'human_requested', 'sla_breach',"
    " 'delivery_failed'"
)
NEW_TYPES = f"{OLD_TYPES}, 'delivery_uncertain'"
STALE_OUTBOUND = "stale_outbound(timestamp with time zone, integer)"
STALE_OUTBOUND_BODY = """
    CREATE FUNCTION stale_outbound(p_started_before timestamptz, p_batch integer)
    RETURNS TABLE (tenant_id uuid, message_id uuid, attempt_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT m.tenant_id, m.id, m.send_attempt_id
        FROM messages m JOIN tenants t ON t.id = m.tenant_id AND t.active
        WHERE m.direction = 'outbound' AND m.status = 'sending'
          AND m.send_started_at < p_started_before
        ORDER BY m.send_started_at
        LIMIT least(greatest(p_batch, 0), 1000)
    $$"""


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def _replace_check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(name), table, type_="check")
    op.create_check_constraint(op.f(name), table, condition)


def upgrade() -> None:
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    op.add_column("messages", sa.Column("send_attempt_id", sa.UUID(), nullable=True))
    op.add_column(
        "messages", sa.Column("send_started_at", sa.DateTime(timezone=True), nullable=True)
    )
    _replace_check("messages", "ck_messages_status", f"status IN ({NEW_STATUSES})")
    _replace_check("staff_notifications", "ck_staff_notifications_type", f"type IN ({NEW_TYPES})")
    # The recovery sweep's read: only interrupted sends are indexed.
    op.create_index(
        "ix_messages_sending",
        "messages",
        ["send_started_at"],
        unique=False,
        postgresql_where=sa.text("direction = 'outbound' AND status = 'sending'"),
    )
    op.execute(STALE_OUTBOUND_BODY.format(path=f"{schema}, pg_temp"))
    op.execute(f"REVOKE ALL ON FUNCTION {STALE_OUTBOUND} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {STALE_OUTBOUND} TO {role}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {STALE_OUTBOUND}")
    op.drop_index("ix_messages_sending", table_name="messages")
    # Without the new states a send in doubt reads as failed, a notification about one as a
    # failed delivery.
    op.execute("UPDATE messages SET status = 'failed' WHERE status IN ('sending', 'uncertain')")
    op.execute(
        "UPDATE staff_notifications n SET type = 'delivery_failed'"
        " WHERE type = 'delivery_uncertain' AND NOT EXISTS (SELECT 1 FROM staff_notifications f"
        " WHERE f.tenant_id = n.tenant_id AND f.message_id = n.message_id"
        " AND f.type = 'delivery_failed')"
    )
    op.execute("DELETE FROM staff_notifications WHERE type = 'delivery_uncertain'")
    _replace_check("staff_notifications", "ck_staff_notifications_type", f"type IN ({OLD_TYPES})")
    _replace_check("messages", "ck_messages_status", f"status IN ({OLD_STATUSES})")
    op.drop_column("messages", "send_started_at")
    op.drop_column("messages", "send_attempt_id")
