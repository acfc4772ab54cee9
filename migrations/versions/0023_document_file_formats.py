"""Knowledge documents keep their original format when uploaded as PDF or Word: the ``format``
check of ``knowledge_documents`` takes ``pdf`` and ``docx`` beside ``text``, ``markdown`` and
``html``. The downgrade restores the narrower check; it fails while a PDF or Word document is
stored (delete them, or keep this revision).

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "knowledge_documents"
CHECK = "ck_knowledge_documents_format"


def _format_check(formats: Sequence[str]) -> None:
    listed = ", ".join(f"'{name}'" for name in formats)
    op.drop_constraint(op.f(CHECK), TABLE, type_="check")
    op.create_check_constraint(op.f(CHECK), TABLE, f"format IN ({listed})")


def upgrade() -> None:
    _format_check(("text", "markdown", "html", "pdf", "docx"))


def downgrade() -> None:
    _format_check(("text", "markdown", "html"))
