"""Reports: the indexes the report queries read.

- ``ix_conversations_reports``: one tenant's conversations by the time the guest first wrote
  (``tenant_id, first_message_at``), carrying what the response-time and service-level reports
  group by and measure (the targets copied from the SLA policy, 0015), so a period is read
  from the index alone.
- ``ix_messages_inbound_reports``: one tenant's inbound messages by arrival
  (``tenant_id, created_at``), carrying the conversation, channel and the assistant's decision,
  for the decision report; outbound rows are left out of it.

Both lead with ``tenant_id``, as every key does, so row-level security and a distribution by
tenant keep using them. ``CREATE INDEX`` (not ``CONCURRENTLY``: the migrations run in one
transaction) blocks writes to the table while it builds.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONVERSATION_COLUMNS = [
    "channel_id",
    "team_id",
    "assignee_id",
    "first_response_at",
    "closed_at",
    "sla_first_response_minutes",
    "sla_next_response_minutes",
    "sla_resolution_minutes",
]
MESSAGE_COLUMNS = ["conversation_id", "channel_id", "ai_decision"]


def upgrade() -> None:
    op.create_index(
        "ix_conversations_reports",
        "conversations",
        ["tenant_id", "first_message_at"],
        postgresql_include=CONVERSATION_COLUMNS,
    )
    op.create_index(
        "ix_messages_inbound_reports",
        "messages",
        ["tenant_id", "created_at"],
        postgresql_include=MESSAGE_COLUMNS,
        postgresql_where=sa.text("direction = 'inbound'"),
    )


def downgrade() -> None:
    op.drop_index("ix_messages_inbound_reports", table_name="messages")
    op.drop_index("ix_conversations_reports", table_name="conversations")
