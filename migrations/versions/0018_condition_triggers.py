"""Condition triggers: an event and ALL / ANY / NONE conditions over it, with actions, each
firing recorded once.

- ``trigger_firings``: one row per condition trigger and subject (UNIQUE(tenant_id, trigger_id,
  subject): a message, an escalation, a conversation or a stay), ``waiting`` until its
  ``due_at`` when the trigger waits before it looks, then ``fired`` with what each action did,
  or ``not_met``.
- ``triggers``: ``template_id`` may be empty for a condition trigger that sends nothing; a
  time-based trigger still names one, and a condition trigger's conditions name an event.
- ``reservations.tags``: labels from the PMS or staff (``VIP``), which conditions can test.
- ``staff_notifications.type``: ``condition_trigger``, raised by a trigger's action.
- ``due_trigger_tenants(now, departures)``: the scheduler's one cross-tenant read for the
  trigger sweep (tenants with waiting firings due, and with ``departures`` those with a
  day-after-check-out trigger).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from persistence.migrate import MigrationTarget

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TABLE = "trigger_firings"
NOTIFICATION_TYPE = "condition_trigger"
TYPE_CHECK = "ck_staff_notifications_type"
DUE = "due_trigger_tenants(timestamp with time zone, boolean)"
DUE_BODY = """
    CREATE FUNCTION due_trigger_tenants(p_now timestamptz, p_departures boolean)
    RETURNS TABLE (tenant_id uuid)
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {path} AS $$
        SELECT f.tenant_id FROM trigger_firings f JOIN tenants t ON t.id = f.tenant_id AND t.active
        WHERE f.status = 'waiting' AND f.due_at <= p_now
        UNION
        SELECT g.tenant_id FROM triggers g JOIN tenants t ON t.id = g.tenant_id AND t.active
        WHERE p_departures AND g.active AND g.kind = 'condition_based'
          AND g.conditions ->> 'event' = 'check_out.day'
    $$"""


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def _fk(column: str, target: str, *, set_null: bool = False) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        [f"{target}.tenant_id", f"{target}.id"],
        name=op.f(f"fk_{TABLE}_tenant_id_{column}_{target}"),
        ondelete=f"SET NULL ({column})" if set_null else "CASCADE",
    )


def _create_firings() -> None:
    op.create_table(
        TABLE,
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("trigger_id", sa.UUID(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conversation_id", sa.UUID(), nullable=True),
        sa.Column("reservation_id", sa.UUID(), nullable=True),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column(
            "facts",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "outcomes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{TABLE}")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f(f"uq_{TABLE}_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "trigger_id",
            "subject",
            name=op.f(f"uq_{TABLE}_tenant_id_trigger_id_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f(f"fk_{TABLE}_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        _fk("trigger_id", "triggers"),
        _fk("conversation_id", "conversations", set_null=True),
        _fk("reservation_id", "reservations", set_null=True),
        _fk("message_id", "messages", set_null=True),
        sa.CheckConstraint(
            "status IN ('waiting', 'fired', 'not_met')", name=op.f(f"ck_{TABLE}_status")
        ),
        sa.CheckConstraint(
            "status <> 'waiting' OR due_at IS NOT NULL", name=op.f(f"ck_{TABLE}_waiting_due")
        ),
    )
    op.create_index(
        f"ix_{TABLE}_due", TABLE, ["due_at"], postgresql_where=sa.text("status = 'waiting'")
    )
    op.create_index(
        f"ix_{TABLE}_tenant_id_trigger_id_created_at",
        TABLE,
        ["tenant_id", "trigger_id", "created_at"],
    )


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
    target = _target()
    schema, role = f'"{target.schema}"', f'"{target.app_role}"'
    op.alter_column("triggers", "template_id", nullable=True)
    op.create_check_constraint(
        op.f("ck_triggers_time_based_template"),
        "triggers",
        "kind <> 'time_based' OR template_id IS NOT NULL",
    )
    op.create_check_constraint(
        op.f("ck_triggers_condition_event"),
        "triggers",
        "kind <> 'condition_based' OR conditions ? 'event'",
    )
    op.add_column(
        "reservations",
        sa.Column(
            "tags", postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False
        ),
    )
    _create_firings()
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {TABLE} TO {role}")
    op.execute(f"ALTER TABLE {TABLE} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {TABLE} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY tenant_isolation ON {TABLE} "
        f"USING (tenant_id = {CURRENT_TENANT}) WITH CHECK (tenant_id = {CURRENT_TENANT})"
    )
    types = _notification_types()
    if NOTIFICATION_TYPE not in types:
        _replace_type_check([*types, NOTIFICATION_TYPE])
    op.execute(DUE_BODY.format(path=f"{schema}, pg_temp"))
    op.execute(f"REVOKE ALL ON FUNCTION {DUE} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {DUE} TO {role}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION IF EXISTS {DUE}")
    op.execute(
        sa.text("DELETE FROM staff_notifications WHERE type = :type").bindparams(
            type=NOTIFICATION_TYPE
        )
    )
    _replace_type_check([name for name in _notification_types() if name != NOTIFICATION_TYPE])
    op.drop_table(TABLE)
    op.drop_column("reservations", "tags")
    op.drop_constraint(op.f("ck_triggers_condition_event"), "triggers", type_="check")
    op.drop_constraint(op.f("ck_triggers_time_based_template"), "triggers", type_="check")
    op.execute("DELETE FROM triggers WHERE template_id IS NULL")
    op.alter_column("triggers", "template_id", nullable=False)
