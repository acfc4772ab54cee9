"""What the assistant decided for each inbound message; cancelled drafts; the conversation's stay.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATUSES = "'pending', 'sent', 'delivered', 'read', 'failed'"
NEW_STATUSES = f"{OLD_STATUSES}, 'cancelled'"


def upgrade() -> None:
    op.add_column("conversations", sa.Column("reservation_id", sa.UUID(), nullable=True))
    op.create_foreign_key(
        op.f("fk_conversations_tenant_id_reservation_id_reservations"),
        "conversations",
        "reservations",
        ["tenant_id", "reservation_id"],
        ["tenant_id", "id"],
        ondelete="SET NULL (reservation_id)",
    )
    op.add_column("messages", sa.Column("ai_decision", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("ai_decision_reason", sa.Text(), nullable=True))
    op.add_column("messages", sa.Column("ai_decided_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_messages_ai_decision"),
        "messages",
        "ai_decision IS NULL OR ai_decision IN ('reply', 'escalate', 'skip')",
    )
    op.drop_constraint(op.f("ck_messages_status"), "messages", type_="check")
    op.create_check_constraint(
        op.f("ck_messages_status"), "messages", f"status IN ({NEW_STATUSES})"
    )


def downgrade() -> None:
    op.execute("UPDATE messages SET status = 'failed' WHERE status = 'cancelled'")
    op.drop_constraint(op.f("ck_messages_status"), "messages", type_="check")
    op.create_check_constraint(
        op.f("ck_messages_status"), "messages", f"status IN ({OLD_STATUSES})"
    )
    op.drop_constraint(op.f("ck_messages_ai_decision"), "messages", type_="check")
    op.drop_column("messages", "ai_decided_at")
    op.drop_column("messages", "ai_decision_reason")
    op.drop_column("messages", "ai_decision")
    op.drop_constraint(
        op.f("fk_conversations_tenant_id_reservation_id_reservations"),
        "conversations",
        type_="foreignkey",
    )
    op.drop_column("conversations", "reservation_id")
