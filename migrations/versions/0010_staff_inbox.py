"""The staff inbox: reply idempotency keys, and alerts about guests writing during a takeover.

- ``messages.idempotency_key``: the ``Idempotency-Key`` a staff reply was posted with, unique
  per tenant, so a retried POST finds the message it made the first time.
- ``staff_notifications.type``: ``guest_message``, a guest wrote in a conversation staff have
  taken over (the assistant stays quiet; the assignee, or the tenant's alert targets, are told).

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_TYPES = (
    "'negative_sentiment', 'escalation', 'low_confidence', 'human_requested', 'sla_breach',"
    " 'delivery_failed', 'delivery_uncertain'"
)
NEW_TYPES = f"{OLD_TYPES}, 'guest_message'"


def _replace_check(table: str, name: str, condition: str) -> None:
    op.drop_constraint(op.f(name), table, type_="check")
    op.create_check_constraint(op.f(name), table, condition)


def upgrade() -> None:
    op.add_column("messages", sa.Column("idempotency_key", sa.Text(), nullable=True))
    op.create_index(
        "uq_messages_idempotency_key",
        "messages",
        ["tenant_id", "idempotency_key"],
        unique=True,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    _replace_check("staff_notifications", "ck_staff_notifications_type", f"type IN ({NEW_TYPES})")


def downgrade() -> None:
    op.execute("DELETE FROM staff_notifications WHERE type = 'guest_message'")
    _replace_check("staff_notifications", "ck_staff_notifications_type", f"type IN ({OLD_TYPES})")
    op.drop_index("uq_messages_idempotency_key", table_name="messages")
    op.drop_column("messages", "idempotency_key")
