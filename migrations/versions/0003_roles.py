"""The shared catalogue of staff roles and permissions.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = {
    "admin": "Manages the tenant: users, channels, integrations, settings.",
    "supervisor": "Oversees all conversations, SLAs and the knowledge base.",
    "team_lead": "Leads a team: assigns its conversations and handles its escalations.",
    "agent": "Answers guests in the conversations assigned to them.",
}
PERMISSIONS = {
    "conversations.read": "Read conversations and messages.",
    "conversations.reply": "Reply to guests.",
    "conversations.assign": "Assign conversations to staff and teams.",
    "conversations.takeover": "Take a conversation over from the assistant.",
    "notifications.acknowledge": "Acknowledge staff notifications.",
    "knowledge.manage": "Edit the knowledge base, templates and canned responses.",
    "ai_settings.manage": "Change AI settings and publish prompts.",
    "channels.manage": "Add and configure channels and integrations.",
    "users.manage": "Invite and deactivate users, grant roles.",
    "reports.read": "See SLA and conversation reports.",
}
GRANTS = {
    "agent": (
        "conversations.read",
        "conversations.reply",
        "conversations.takeover",
        "notifications.acknowledge",
    ),
    "team_lead": (
        "conversations.read",
        "conversations.reply",
        "conversations.takeover",
        "conversations.assign",
        "notifications.acknowledge",
        "reports.read",
    ),
    "supervisor": (
        "conversations.read",
        "conversations.reply",
        "conversations.takeover",
        "conversations.assign",
        "notifications.acknowledge",
        "knowledge.manage",
        "ai_settings.manage",
        "reports.read",
    ),
    "admin": tuple(PERMISSIONS),
}


def upgrade() -> None:
    bind = op.get_bind()
    for name, description in ROLES.items():
        bind.execute(
            sa.text("INSERT INTO roles (name, description) VALUES (:name, :description)"),
            {"name": name, "description": description},
        )
    for code, description in PERMISSIONS.items():
        bind.execute(
            sa.text("INSERT INTO permissions (code, description) VALUES (:code, :description)"),
            {"code": code, "description": description},
        )
    for role, codes in GRANTS.items():
        for code in codes:
            bind.execute(
                sa.text(
                    "INSERT INTO role_permissions (role_id, permission_id)"
                    " SELECT r.id, p.id FROM roles r, permissions p"
                    " WHERE r.name = :role AND p.code = :code"
                ),
                {"role": role, "code": code},
            )


def downgrade() -> None:
    op.execute("DELETE FROM role_permissions")
    op.execute("DELETE FROM permissions")
    op.execute("DELETE FROM roles")
