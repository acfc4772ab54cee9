"""Rate limits: a guest identity's message flood stops auto-replies, and each channel's sends
keep to the provider's limits.

- ``ai_settings.inbound_messages_per_minute``: how many messages one guest identity may send
  in a minute before auto-replies stop (default 20, 1 to 1000).
- ``rate_limit_buckets.limited_since``: when a guest's bucket ran dry; auto-replies stay off
  until a whole minute's allowance has built up again (``domain.rate_limits``).
- ``channels.sends_per_second``: a channel's own send rate in place of the provider's
  (NULL: the provider's documented limit).
- ``staff_notifications.type``: ``rate_limited``, a guest's flood stopped the auto-replies.
- ``due_outbound``: takes the due sends in turns, channel by channel and, within a channel,
  conversation by conversation (each one's oldest first, at most ``PER_CHANNEL`` of a
  channel), so a throttled channel's backlog never fills the sweep and holds up another
  channel's reply, nor one chat's backlog (Telegram: one a second per chat) another chat's.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOTIFICATION_TYPE = "rate_limited"
TYPE_CHECK = "ck_staff_notifications_type"
# The most due sends of one channel a sweep takes: enough for a second of WhatsApp Cloud's
# 80 a second over a few sweeps, few enough that a throttled backlog costs little to look at.
PER_CHANNEL = 25

DUE_OUTBOUND = """
    CREATE OR REPLACE FUNCTION due_outbound(p_batch integer)
    RETURNS TABLE (tenant_id uuid, message_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT due.tenant_id, due.id
        FROM (
            SELECT chat.tenant_id, chat.id, chat.send_after,
                   row_number() OVER (PARTITION BY chat.channel_id
                                      ORDER BY chat.turn, chat.send_after, chat.id) AS turn
            FROM (
                SELECT m.tenant_id, m.id, m.channel_id, m.send_after,
                       row_number() OVER (PARTITION BY m.channel_id, m.conversation_id
                                          ORDER BY m.send_after, m.id) AS turn
                FROM messages m JOIN tenants t ON t.id = m.tenant_id AND t.active
                WHERE m.direction = 'outbound' AND m.status = 'pending'
                  AND m.send_after <= now()
            ) chat
        ) due
        WHERE due.turn <= {per_channel}
        ORDER BY due.turn, due.send_after
        LIMIT least(greatest(p_batch, 0), 1000)
    $$"""
# 0002's body, for the downgrade.
OLDEST_FIRST = """
    CREATE OR REPLACE FUNCTION due_outbound(p_batch integer)
    RETURNS TABLE (tenant_id uuid, message_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT m.tenant_id, m.id
        FROM messages m JOIN tenants t ON t.id = m.tenant_id AND t.active
        WHERE m.direction = 'outbound' AND m.status = 'pending' AND m.send_after <= now()
        ORDER BY m.send_after
        LIMIT least(greatest(p_batch, 0), 1000)
    $$"""


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


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


def _path() -> str:
    return f'"{_target().schema}", pg_temp'


def upgrade() -> None:
    op.add_column(
        "ai_settings",
        sa.Column(
            "inbound_messages_per_minute",
            sa.Integer(),
            server_default=sa.text("20"),
            nullable=False,
        ),
    )
    op.create_check_constraint(
        op.f("ck_ai_settings_inbound_messages_per_minute"),
        "ai_settings",
        "inbound_messages_per_minute BETWEEN 1 AND 1000",
    )
    op.add_column(
        "rate_limit_buckets",
        sa.Column("limited_since", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column("channels", sa.Column("sends_per_second", sa.Numeric(8, 3), nullable=True))
    op.create_check_constraint(
        op.f("ck_channels_sends_per_second"),
        "channels",
        "sends_per_second IS NULL OR (sends_per_second > 0 AND sends_per_second <= 1000)",
    )
    types = _notification_types()
    if NOTIFICATION_TYPE not in types:
        _replace_type_check([*types, NOTIFICATION_TYPE])
    op.execute(DUE_OUTBOUND.format(path=_path(), per_channel=PER_CHANNEL))


def downgrade() -> None:
    op.execute(OLDEST_FIRST.format(path=_path()))
    op.execute(
        sa.text("DELETE FROM staff_notifications WHERE type = :type").bindparams(
            type=NOTIFICATION_TYPE
        )
    )
    _replace_type_check([name for name in _notification_types() if name != NOTIFICATION_TYPE])
    op.drop_constraint(op.f("ck_channels_sends_per_second"), "channels", type_="check")
    op.drop_column("channels", "sends_per_second")
    op.drop_column("rate_limit_buckets", "limited_since")
    op.drop_constraint(
        op.f("ck_ai_settings_inbound_messages_per_minute"), "ai_settings", type_="check"
    )
    op.drop_column("ai_settings", "inbound_messages_per_minute")
