"""Knowledge documents: house rules, menus, check-in guides the assistant answers from.

- ``knowledge_documents``: one per uploaded document (soft-deleted): its title, format
  (``text``, ``markdown``, ``html``), language, the extracted text, size, a version that moves
  on every replacement, and its processing ``status`` (``processing`` -> ``ready`` or
  ``failed`` with ``failure_reason``).
- ``knowledge_passages``: the passages a document is split into (by headings and paragraphs,
  bounded in length), each with its e5 embedding as ``float4`` bytes (``embedding``, null when
  no model was available) and the model that made it.
- Both are tenant tables under forced row-level security, and both send ``config_changed``
  notices (migration 0011), so the autoreply cache reloads a tenant's passages as they change.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from persistence.migrate import MigrationTarget

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_TENANT = "NULLIF(current_setting('app.tenant_id', true), '')::uuid"
TENANT_TABLES = ("knowledge_documents", "knowledge_passages")


def _target() -> MigrationTarget:
    target: MigrationTarget = op.get_context().config.attributes["target"]  # type: ignore[union-attr]
    return target


def _key(table: str) -> list[sa.schema.SchemaItem]:
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


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def _create_tables() -> None:
    table = "knowledge_documents"
    op.create_table(
        table,
        *_key(table),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'processing'"), nullable=False),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("passage_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        _check(table, "format", "format IN ('text', 'markdown', 'html')"),
        _check(table, "status", "status IN ('processing', 'ready', 'failed')"),
        _check(table, "failed_has_reason", "status <> 'failed' OR failure_reason IS NOT NULL"),
        _check(table, "size_bytes", "size_bytes >= 0"),
        _check(table, "version", "version >= 1"),
        _check(table, "passage_count", "passage_count >= 0"),
    )
    op.create_index(
        "ix_knowledge_documents_tenant_id_created_at", table, ["tenant_id", "created_at"]
    )
    table = "knowledge_passages"
    op.create_table(
        table,
        *_key(table),
        sa.Column("document_id", sa.UUID(), nullable=False),
        sa.Column("document_version", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("heading", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedding_model", sa.Text(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint(
            "tenant_id",
            "document_id",
            "position",
            name=op.f("uq_knowledge_passages_tenant_id_document_id_position"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "document_id"],
            ["knowledge_documents.tenant_id", "knowledge_documents.id"],
            name=op.f("fk_knowledge_passages_tenant_id_document_id_knowledge_documents"),
            ondelete="CASCADE",
        ),
        _check(table, "position", "position >= 0"),
        _check(table, "embedding_model", "(embedding IS NULL) = (embedding_model IS NULL)"),
    )


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
        # The autoreply cache hears of a change as it commits (config_changed, migration 0011).
        op.execute(
            f"CREATE TRIGGER config_changed AFTER INSERT OR UPDATE OR DELETE ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION config_changed('tenant_id')"
        )


def downgrade() -> None:
    for table in reversed(TENANT_TABLES):
        op.execute(f"DROP TRIGGER IF EXISTS config_changed ON {table}")
        op.drop_table(table)
