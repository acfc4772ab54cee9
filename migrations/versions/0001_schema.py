"""The frontdesk schema: every table, key, constraint and index.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# In creation order: every table comes after the tables it references.
TABLES = (
    "permissions",
    "roles",
    "tenants",
    "ai_settings",
    "assistant_profiles",
    "bot_scenarios",
    "documents",
    "guests",
    "integration_credentials",
    "knowledge_categories",
    "outbox",
    "processed_events",
    "properties",
    "rate_limit_buckets",
    "role_permissions",
    "sla_policies",
    "tags",
    "teams",
    "templates",
    "users",
    "agent_skills",
    "business_hours",
    "canned_responses",
    "channels",
    "guest_identities",
    "knowledge_items",
    "prompts",
    "property_settings",
    "reservations",
    "team_memberships",
    "triggers",
    "user_roles",
    "conversations",
    "staff_alert_targets",
    "webhook_events",
    "whatsapp_templates",
    "bot_dialog_states",
    "conversation_events",
    "conversation_notes",
    "conversation_tags",
    "messages",
    "sla_violations",
    "comms_events",
    "media_files",
    "staff_notifications",
)


def upgrade() -> None:
    op.create_table(
        "permissions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_permissions")),
        sa.UniqueConstraint("code", name=op.f("uq_permissions_code")),
    )
    op.create_table(
        "roles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
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
        sa.CheckConstraint(
            "name IN ('admin', 'supervisor', 'team_lead', 'agent')", name=op.f("ck_roles_name")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roles")),
        sa.UniqueConstraint("name", name=op.f("uq_roles_name")),
    )
    op.create_table(
        "tenants",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("vertical", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint("slug ~ '^[a-z0-9][a-z0-9-]*$'", name=op.f("ck_tenants_slug_format")),
        sa.CheckConstraint(
            "vertical IN ('hotel', 'vacation_rental', 'restaurant')",
            name=op.f("ck_tenants_vertical"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenants")),
        sa.UniqueConstraint("slug", name=op.f("uq_tenants_slug")),
    )
    op.create_table(
        "ai_settings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column(
            "auto_reply_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False
        ),
        sa.Column(
            "confidence_threshold",
            sa.Numeric(precision=3, scale=2),
            server_default=sa.text("0.70"),
            nullable=False,
        ),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        sa.Column(
            "response_delay_minutes", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column(
            "escalation_categories",
            sa.ARRAY(sa.Text()),
            server_default=sa.text("'{refund,complaint,emergency}'::text[]"),
            nullable=False,
        ),
        sa.Column(
            "negative_sentiment_threshold",
            sa.Numeric(precision=3, scale=2),
            server_default=sa.text("-0.50"),
            nullable=False,
        ),
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
        sa.CheckConstraint(
            "(quiet_hours_start IS NULL) = (quiet_hours_end IS NULL)",
            name=op.f("ck_ai_settings_quiet_hours_both_or_neither"),
        ),
        sa.CheckConstraint(
            "confidence_threshold BETWEEN 0 AND 1", name=op.f("ck_ai_settings_confidence_threshold")
        ),
        sa.CheckConstraint(
            "negative_sentiment_threshold BETWEEN -1 AND 1",
            name=op.f("ck_ai_settings_negative_sentiment_threshold"),
        ),
        sa.CheckConstraint(
            "response_delay_minutes >= 0", name=op.f("ck_ai_settings_response_delay_minutes")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_ai_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_settings")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_ai_settings_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_ai_settings_tenant_id")),
    )
    op.create_table(
        "assistant_profiles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("assistant_name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("vertical", sa.Text(), nullable=False),
        sa.Column("greeting", sa.Text(), nullable=True),
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
        sa.CheckConstraint(
            "vertical IN ('hotel', 'vacation_rental', 'restaurant')",
            name=op.f("ck_assistant_profiles_vertical"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_assistant_profiles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assistant_profiles")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_assistant_profiles_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", name=op.f("uq_assistant_profiles_tenant_id")),
    )
    op.create_table(
        "bot_scenarios",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("flow", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
        sa.CheckConstraint("version > 0", name=op.f("ck_bot_scenarios_version")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_bot_scenarios_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_scenarios")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_bot_scenarios_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "name", "version", name=op.f("uq_bot_scenarios_tenant_id_name_version")
        ),
    )
    op.create_table(
        "documents",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=False),
        sa.Column("file_type", sa.Text(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("extracted_text", sa.Text(), nullable=True),
        sa.Column(
            "processing_status", sa.Text(), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
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
        sa.CheckConstraint(
            "processing_status IN ('pending', 'processing', 'processed', 'failed')",
            name=op.f("ck_documents_processing_status"),
        ),
        sa.CheckConstraint("size_bytes >= 0", name=op.f("ck_documents_size_bytes")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_documents_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_documents_tenant_id_id")),
    )
    op.create_table(
        "guests",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), nullable=True),
        sa.Column(
            "preferences",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "phone IS NULL OR phone ~ '^\\+[1-9][0-9]{6,14}$'", name=op.f("ck_guests_phone_e164")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_guests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guests")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_guests_tenant_id_id")),
    )
    op.create_index("ix_guests_tenant_id_email", "guests", ["tenant_id", "email"], unique=False)
    op.create_index("ix_guests_tenant_id_phone", "guests", ["tenant_id", "phone"], unique=False)
    op.create_table(
        "integration_credentials",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("integration_type", sa.Text(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("credentials_encrypted", sa.Text(), nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "connection_status", sa.Text(), server_default=sa.text("'unknown'"), nullable=False
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_checked_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "connection_status IN ('unknown', 'connected', 'failing', 'disabled')",
            name=op.f("ck_integration_credentials_connection_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_integration_credentials_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_credentials")),
        sa.UniqueConstraint(
            "tenant_id", "id", name=op.f("uq_integration_credentials_tenant_id_id")
        ),
        sa.UniqueConstraint(
            "tenant_id",
            "integration_type",
            name=op.f("uq_integration_credentials_tenant_id_integration_type"),
        ),
    )
    op.create_table(
        "knowledge_categories",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("display_order", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "example_questions",
            sa.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
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
        sa.CheckConstraint(
            "display_order >= 0", name=op.f("ck_knowledge_categories_display_order")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_knowledge_categories_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_categories")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_knowledge_categories_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "slug", name=op.f("uq_knowledge_categories_tenant_id_slug")
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_outbox_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_outbox_tenant_id_id")),
    )
    op.create_index(
        "ix_outbox_unpublished",
        "outbox",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.create_table(
        "processed_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("consumer", sa.Text(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
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
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_processed_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processed_events")),
        sa.UniqueConstraint(
            "consumer", "event_id", name=op.f("uq_processed_events_consumer_event_id")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_processed_events_tenant_id_id")),
    )
    op.create_table(
        "properties",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("timezone", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("country_code", sa.Text(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_properties_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_properties")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_properties_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_properties_tenant_id_name")),
    )
    op.create_table(
        "rate_limit_buckets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("bucket_key", sa.Text(), nullable=False),
        sa.Column("capacity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("refill_per_second", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("tokens", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column(
            "refilled_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
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
        sa.CheckConstraint("capacity > 0", name=op.f("ck_rate_limit_buckets_capacity")),
        sa.CheckConstraint(
            "refill_per_second >= 0", name=op.f("ck_rate_limit_buckets_refill_per_second")
        ),
        sa.CheckConstraint(
            "tokens >= 0 AND tokens <= capacity",
            name=op.f("ck_rate_limit_buckets_tokens_within_capacity"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_rate_limit_buckets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_buckets")),
        sa.UniqueConstraint(
            "tenant_id", "bucket_key", name=op.f("uq_rate_limit_buckets_tenant_id_bucket_key")
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_rate_limit_buckets_tenant_id_id")),
    )
    op.create_table(
        "role_permissions",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("role_id", sa.UUID(), nullable=False),
        sa.Column("permission_id", sa.UUID(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["permission_id"],
            ["permissions.id"],
            name=op.f("fk_role_permissions_permission_id_permissions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["roles.id"],
            name=op.f("fk_role_permissions_role_id_roles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_permissions")),
        sa.UniqueConstraint(
            "role_id", "permission_id", name=op.f("uq_role_permissions_role_id_permission_id")
        ),
    )
    op.create_table(
        "sla_policies",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("priority", sa.Text(), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "business_hours_only", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_sla_policies_priority")
        ),
        sa.CheckConstraint(
            "first_response_minutes > 0", name=op.f("ck_sla_policies_first_response_minutes")
        ),
        sa.CheckConstraint(
            "resolution_minutes IS NULL OR resolution_minutes > 0",
            name=op.f("ck_sla_policies_resolution_minutes"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sla_policies_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_sla_policies_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_sla_policies_tenant_id_name")),
    )
    op.create_table(
        "tags",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("color", sa.Text(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tags_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_tags_tenant_id_id")),
    )
    op.create_index("uq_tags_tenant_id_name", "tags", ["tenant_id", "name"], unique=True)
    op.create_table(
        "teams",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_teams_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_teams_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_teams_tenant_id_name")),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("rule_key", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), server_default=sa.text("'en'"), nullable=False),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "channel IN ('green_api', 'whatsapp_cloud', 'twilio_sms', 'telegram', 'email')",
            name=op.f("ck_templates_channel"),
        ),
        sa.CheckConstraint(
            "rule_key IN ('T_MINUS_3', 'T_MINUS_1', 'DAY_OF') OR rule_key ~ '^custom:[a-z0-9_-]+$'",
            name=op.f("ck_templates_rule_key"),
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_templates_version")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_templates")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_templates_tenant_id_id")),
    )
    op.create_index(
        "uq_templates_live_rule",
        "templates",
        ["tenant_id", "channel", "rule_key"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lower")),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_users_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_users_tenant_id_id")),
    )
    op.create_index(
        "uq_users_tenant_id_email_live",
        "users",
        ["tenant_id", "email"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "agent_skills",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("skill", sa.Text(), nullable=False),
        sa.Column("level", sa.SmallInteger(), server_default=sa.text("3"), nullable=False),
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
        sa.CheckConstraint("level BETWEEN 1 AND 5", name=op.f("ck_agent_skills_level")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_agent_skills_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_agent_skills_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_skills")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_agent_skills_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", "skill", name=op.f("uq_agent_skills_tenant_id_user_id_skill")
        ),
    )
    op.create_table(
        "business_hours",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("property_id", sa.UUID(), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=False),
        sa.Column("opens_at", sa.Time(), nullable=False),
        sa.Column("closes_at", sa.Time(), nullable=False),
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
        sa.CheckConstraint(
            "opens_at < closes_at", name=op.f("ck_business_hours_opens_before_closes")
        ),
        sa.CheckConstraint("weekday BETWEEN 1 AND 7", name=op.f("ck_business_hours_weekday")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "property_id"],
            ["properties.tenant_id", "properties.id"],
            name=op.f("fk_business_hours_tenant_id_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_business_hours_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_hours")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_business_hours_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "property_id",
            "weekday",
            name=op.f("uq_business_hours_tenant_id_property_id_weekday"),
        ),
    )
    op.create_table(
        "canned_responses",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("shortcut", sa.Text(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
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
        sa.CheckConstraint(
            "shortcut ~ '^/[a-z0-9_-]+$'", name=op.f("ck_canned_responses_shortcut_format")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "created_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_canned_responses_tenant_id_created_by_users"),
            ondelete="SET NULL (created_by)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_canned_responses_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_responses")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_canned_responses_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "shortcut", name=op.f("uq_canned_responses_tenant_id_shortcut")
        ),
    )
    op.create_table(
        "channels",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("property_id", sa.UUID(), nullable=False),
        sa.Column(
            "public_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("credentials_encrypted", sa.Text(), nullable=False),
        sa.Column("webhook_secret_encrypted", sa.Text(), nullable=True),
        sa.Column("staff_alerts", sa.Boolean(), server_default=sa.text("false"), nullable=False),
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
        sa.CheckConstraint(
            "provider IN ('green_api', 'whatsapp_cloud', 'twilio_sms', 'telegram', 'email')",
            name=op.f("ck_channels_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "property_id"],
            ["properties.tenant_id", "properties.id"],
            name=op.f("fk_channels_tenant_id_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_channels_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("public_id", name=op.f("uq_channels_public_id")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_channels_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "provider", "address", name=op.f("uq_channels_tenant_id_provider_address")
        ),
    )
    op.create_table(
        "guest_identities",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("handle", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
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
        sa.CheckConstraint(
            "kind IN ('green_api', 'whatsapp_cloud', 'twilio_sms', 'telegram', 'email')",
            name=op.f("ck_guest_identities_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "guest_id"],
            ["guests.tenant_id", "guests.id"],
            name=op.f("fk_guest_identities_tenant_id_guest_id_guests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_guest_identities_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guest_identities")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_guest_identities_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "kind", "handle", name=op.f("uq_guest_identities_tenant_id_kind_handle")
        ),
    )
    op.create_index(
        "ix_guest_identities_tenant_id_guest_id",
        "guest_identities",
        ["tenant_id", "guest_id"],
        unique=False,
    )
    op.create_table(
        "knowledge_items",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("category_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column(
            "example_questions",
            sa.ARRAY(sa.Text()),
            server_default=sa.text("'{}'::text[]"),
            nullable=False,
        ),
        sa.Column("display_order", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("display_order >= 0", name=op.f("ck_knowledge_items_display_order")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "category_id"],
            ["knowledge_categories.tenant_id", "knowledge_categories.id"],
            name=op.f("fk_knowledge_items_tenant_id_category_id_knowledge_categories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_knowledge_items_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_items")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_knowledge_items_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "key", name=op.f("uq_knowledge_items_tenant_id_key")),
    )
    op.create_index(
        "ix_knowledge_items_tenant_id_category_id",
        "knowledge_items",
        ["tenant_id", "category_id"],
        unique=False,
    )
    op.create_table(
        "prompts",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("is_published", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("published_by", sa.UUID(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "NOT is_published OR published_at IS NOT NULL", name=op.f("ck_prompts_published_fields")
        ),
        sa.CheckConstraint("version > 0", name=op.f("ck_prompts_version")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "published_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_prompts_tenant_id_published_by_users"),
            ondelete="SET NULL (published_by)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_prompts_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_prompts_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "version", name=op.f("uq_prompts_tenant_id_version")),
    )
    op.create_index(
        "uq_prompts_one_published",
        "prompts",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("is_published"),
    )
    op.create_table(
        "property_settings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("property_id", sa.UUID(), nullable=False),
        sa.Column("check_in_time", sa.Time(), server_default=sa.text("'15:00'"), nullable=False),
        sa.Column("check_out_time", sa.Time(), server_default=sa.text("'11:00'"), nullable=False),
        sa.Column(
            "early_check_in_available",
            sa.Boolean(),
            server_default=sa.text("false"),
            nullable=False,
        ),
        sa.Column("early_check_in_from", sa.Time(), nullable=True),
        sa.Column(
            "late_checkout_available", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("late_checkout_until", sa.Time(), nullable=True),
        sa.Column("late_checkout_fee", sa.Integer(), nullable=True),
        sa.Column("parking", sa.Text(), nullable=True),
        sa.Column("pet_policy", sa.Text(), nullable=True),
        sa.Column("smoking_policy", sa.Text(), nullable=True),
        sa.Column("whatsapp_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("sms_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("email_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("telegram_enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("t_minus_3_at", sa.Time(), server_default=sa.text("'10:00'"), nullable=False),
        sa.Column("t_minus_1_at", sa.Time(), server_default=sa.text("'10:00'"), nullable=False),
        sa.Column("day_of_at", sa.Time(), server_default=sa.text("'09:00'"), nullable=False),
        sa.Column(
            "extra",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
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
        sa.CheckConstraint(
            "late_checkout_fee IS NULL OR late_checkout_fee >= 0",
            name=op.f("ck_property_settings_late_checkout_fee"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "property_id"],
            ["properties.tenant_id", "properties.id"],
            name=op.f("fk_property_settings_tenant_id_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_property_settings_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_property_settings")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_property_settings_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "property_id", name=op.f("uq_property_settings_tenant_id_property_id")
        ),
    )
    op.create_table(
        "reservations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("property_id", sa.UUID(), nullable=False),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("external_ref", sa.Text(), nullable=True),
        sa.Column("check_in", sa.Date(), nullable=False),
        sa.Column("check_out", sa.Date(), nullable=False),
        sa.Column("room_number", sa.Text(), nullable=True),
        sa.Column("room_type", sa.Text(), nullable=True),
        sa.Column("party_size", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), server_default=sa.text("'confirmed'"), nullable=False),
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
        sa.CheckConstraint(
            "status IN ('tentative', 'confirmed', 'checked_in', 'checked_out', 'cancelled', 'no_show')",
            name=op.f("ck_reservations_status"),
        ),
        sa.CheckConstraint("check_out >= check_in", name=op.f("ck_reservations_dates_in_order")),
        sa.CheckConstraint(
            "party_size IS NULL OR party_size > 0", name=op.f("ck_reservations_party_size")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "guest_id"],
            ["guests.tenant_id", "guests.id"],
            name=op.f("fk_reservations_tenant_id_guest_id_guests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "property_id"],
            ["properties.tenant_id", "properties.id"],
            name=op.f("fk_reservations_tenant_id_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_reservations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_reservations_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "property_id",
            "external_ref",
            name=op.f("uq_reservations_tenant_id_property_id_external_ref"),
        ),
    )
    op.create_index(
        "ix_reservations_tenant_id_check_in",
        "reservations",
        ["tenant_id", "check_in"],
        unique=False,
    )
    op.create_index(
        "ix_reservations_tenant_id_guest_id",
        "reservations",
        ["tenant_id", "guest_id"],
        unique=False,
    )
    op.create_table(
        "team_memberships",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("team_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("member_role", sa.Text(), server_default=sa.text("'member'"), nullable=False),
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
        sa.CheckConstraint(
            "member_role IN ('member', 'lead')", name=op.f("ck_team_memberships_member_role")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "team_id"],
            ["teams.tenant_id", "teams.id"],
            name=op.f("fk_team_memberships_tenant_id_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_team_memberships_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_team_memberships_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_memberships")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_team_memberships_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "team_id",
            "user_id",
            name=op.f("uq_team_memberships_tenant_id_team_id_user_id"),
        ),
    )
    op.create_table(
        "triggers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("template_id", sa.UUID(), nullable=False),
        sa.Column("property_id", sa.UUID(), nullable=True),
        sa.Column(
            "conditions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint(
            "kind IN ('time_based', 'condition_based')", name=op.f("ck_triggers_kind")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "property_id"],
            ["properties.tenant_id", "properties.id"],
            name=op.f("fk_triggers_tenant_id_property_id_properties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "template_id"],
            ["templates.tenant_id", "templates.id"],
            name=op.f("fk_triggers_tenant_id_template_id_templates"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_triggers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triggers")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_triggers_tenant_id_id")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_triggers_tenant_id_name")),
    )
    op.create_table(
        "user_roles",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role_id", sa.UUID(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["role_id"], ["roles.id"], name=op.f("fk_user_roles_role_id_roles"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_user_roles_tenant_id_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_user_roles_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_roles")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_user_roles_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id", "user_id", "role_id", name=op.f("uq_user_roles_tenant_id_user_id_role_id")
        ),
    )
    op.create_table(
        "conversations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("guest_id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'new'"), nullable=False),
        sa.Column("priority", sa.Text(), server_default=sa.text("'normal'"), nullable=False),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("team_id", sa.UUID(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("human_takeover", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')",
            name=op.f("ck_conversations_priority"),
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending', 'snoozed', 'resolved', 'closed')",
            name=op.f("ck_conversations_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "assignee_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_conversations_tenant_id_assignee_id_users"),
            ondelete="SET NULL (assignee_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_conversations_tenant_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "guest_id"],
            ["guests.tenant_id", "guests.id"],
            name=op.f("fk_conversations_tenant_id_guest_id_guests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "team_id"],
            ["teams.tenant_id", "teams.id"],
            name=op.f("fk_conversations_tenant_id_team_id_teams"),
            ondelete="SET NULL (team_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_conversations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_conversations_tenant_id_id")),
    )
    op.create_index(
        "ix_conversations_tenant_id_assignee_id",
        "conversations",
        ["tenant_id", "assignee_id"],
        unique=False,
    )
    op.create_index(
        "ix_conversations_tenant_id_status_last_message_at",
        "conversations",
        ["tenant_id", "status", "last_message_at"],
        unique=False,
    )
    op.create_index(
        "uq_conversations_open_per_guest_channel",
        "conversations",
        ["tenant_id", "guest_id", "channel_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('resolved', 'closed')"),
    )
    op.create_table(
        "staff_alert_targets",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("webhook_url_encrypted", sa.Text(), nullable=True),
        sa.Column("urgent_only", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
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
        sa.CheckConstraint(
            "(kind = 'channel' AND channel_id IS NOT NULL AND address IS NOT NULL) OR (kind = 'webhook' AND webhook_url_encrypted IS NOT NULL)",
            name=op.f("ck_staff_alert_targets_kind_fields"),
        ),
        sa.CheckConstraint(
            "kind IN ('channel', 'webhook')", name=op.f("ck_staff_alert_targets_kind")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_staff_alert_targets_tenant_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_staff_alert_targets_tenant_id_user_id_users"),
            ondelete="SET NULL (user_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_staff_alert_targets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_alert_targets")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_staff_alert_targets_tenant_id_id")),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("provider_event_id", sa.Text(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
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
        sa.CheckConstraint(
            "provider IN ('green_api', 'whatsapp_cloud', 'twilio_sms', 'telegram', 'email')",
            name=op.f("ck_webhook_events_provider"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_webhook_events_tenant_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webhook_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_events")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_webhook_events_tenant_id_id")),
        sa.UniqueConstraint(
            "tenant_id",
            "provider",
            "provider_event_id",
            name=op.f("uq_webhook_events_tenant_id_provider_provider_event_id"),
        ),
    )
    op.create_table(
        "whatsapp_templates",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column(
            "approval_status", sa.Text(), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "components",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("provider_template_id", sa.Text(), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
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
        sa.CheckConstraint(
            "approval_status IN ('pending', 'approved', 'rejected', 'paused', 'disabled')",
            name=op.f("ck_whatsapp_templates_approval_status"),
        ),
        sa.CheckConstraint(
            "category IN ('marketing', 'utility', 'authentication')",
            name=op.f("ck_whatsapp_templates_category"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_whatsapp_templates_tenant_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_whatsapp_templates_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_templates")),
        sa.UniqueConstraint(
            "tenant_id",
            "channel_id",
            "name",
            "language",
            name=op.f("uq_whatsapp_templates_tenant_id_channel_id_name_language"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_whatsapp_templates_tenant_id_id")),
    )
    op.create_table(
        "bot_dialog_states",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("scenario_id", sa.UUID(), nullable=False),
        sa.Column("current_step", sa.Text(), nullable=False),
        sa.Column(
            "collected",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.id"],
            name=op.f("fk_bot_dialog_states_tenant_id_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "scenario_id"],
            ["bot_scenarios.tenant_id", "bot_scenarios.id"],
            name=op.f("fk_bot_dialog_states_tenant_id_scenario_id_bot_scenarios"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_bot_dialog_states_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_dialog_states")),
        sa.UniqueConstraint(
            "tenant_id",
            "conversation_id",
            name=op.f("uq_bot_dialog_states_tenant_id_conversation_id"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_bot_dialog_states_tenant_id_id")),
    )
    op.create_table(
        "conversation_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("actor_type", sa.Text(), nullable=False),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("from_value", sa.Text(), nullable=True),
        sa.Column("to_value", sa.Text(), nullable=True),
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
        sa.CheckConstraint(
            "actor_type IN ('guest', 'staff', 'bot', 'system')",
            name=op.f("ck_conversation_events_actor_type"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "actor_user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_conversation_events_tenant_id_actor_user_id_users"),
            ondelete="SET NULL (actor_user_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.id"],
            name=op.f("fk_conversation_events_tenant_id_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_conversation_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_events")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_conversation_events_tenant_id_id")),
    )
    op.create_index(
        "ix_conversation_events_tenant_id_conversation_id",
        "conversation_events",
        ["tenant_id", "conversation_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "conversation_notes",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["tenant_id", "author_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_conversation_notes_tenant_id_author_id_users"),
            ondelete="SET NULL (author_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.id"],
            name=op.f("fk_conversation_notes_tenant_id_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_conversation_notes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_notes")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_conversation_notes_tenant_id_id")),
    )
    op.create_index(
        "ix_conversation_notes_tenant_id_conversation_id",
        "conversation_notes",
        ["tenant_id", "conversation_id"],
        unique=False,
    )
    op.create_table(
        "conversation_tags",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("tag_id", sa.UUID(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.id"],
            name=op.f("fk_conversation_tags_tenant_id_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "tag_id"],
            ["tags.tenant_id", "tags.id"],
            name=op.f("fk_conversation_tags_tenant_id_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_conversation_tags_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversation_tags")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_conversation_tags_tenant_id_id")),
    )
    op.create_index(
        "uq_conversation_tags_conversation_tag",
        "conversation_tags",
        ["tenant_id", "conversation_id", "tag_id"],
        unique=True,
    )
    op.create_table(
        "messages",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("sender_type", sa.Text(), nullable=False),
        sa.Column("sender_user_id", sa.UUID(), nullable=True),
        sa.Column("content_type", sa.Text(), server_default=sa.text("'text'"), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("sentiment_score", sa.Numeric(precision=4, scale=3), nullable=True),
        sa.Column("sentiment_label", sa.Text(), nullable=True),
        sa.Column(
            "requires_attention", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("source_event_id", sa.UUID(), nullable=True),
        sa.Column("send_after", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("in_reply_to_id", sa.UUID(), nullable=True),
        sa.Column("template_id", sa.UUID(), nullable=True),
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
        sa.CheckConstraint(
            "(direction = 'outbound') = (send_after IS NOT NULL)",
            name=op.f("ck_messages_send_after_outbound_only"),
        ),
        sa.CheckConstraint(
            "content_type IN ('text', 'image', 'audio', 'video', 'document', 'location', 'contact', 'template')",
            name=op.f("ck_messages_content_type"),
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_messages_direction")
        ),
        sa.CheckConstraint(
            "sender_type IN ('guest', 'staff', 'bot', 'system')",
            name=op.f("ck_messages_sender_type"),
        ),
        sa.CheckConstraint(
            "sentiment_label IS NULL OR sentiment_label IN ('positive', 'neutral', 'negative')",
            name=op.f("ck_messages_sentiment_label"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'delivered', 'read', 'failed')",
            name=op.f("ck_messages_status"),
        ),
        sa.CheckConstraint(
            "sentiment_score IS NULL OR sentiment_score BETWEEN -1 AND 1",
            name=op.f("ck_messages_sentiment_score"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_messages_tenant_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.id"],
            name=op.f("fk_messages_tenant_id_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "in_reply_to_id"],
            ["messages.tenant_id", "messages.id"],
            name=op.f("fk_messages_tenant_id_in_reply_to_id_messages"),
            ondelete="SET NULL (in_reply_to_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "sender_user_id"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_messages_tenant_id_sender_user_id_users"),
            ondelete="SET NULL (sender_user_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "template_id"],
            ["templates.tenant_id", "templates.id"],
            name=op.f("fk_messages_tenant_id_template_id_templates"),
            ondelete="SET NULL (template_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_messages_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_messages_tenant_id_id")),
    )
    op.create_index(
        "ix_messages_due_outbound",
        "messages",
        ["send_after"],
        unique=False,
        postgresql_where=sa.text("direction = 'outbound' AND status = 'pending'"),
    )
    op.create_index(
        "ix_messages_tenant_id_conversation_id_created_at",
        "messages",
        ["tenant_id", "conversation_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "uq_messages_provider_message_id",
        "messages",
        ["tenant_id", "channel_id", "provider_message_id"],
        unique=True,
        postgresql_where=sa.text("provider_message_id IS NOT NULL"),
    )
    op.create_table(
        "sla_violations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("policy_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.CheckConstraint(
            "kind IN ('first_response', 'resolution')", name=op.f("ck_sla_violations_kind")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.id"],
            name=op.f("fk_sla_violations_tenant_id_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "policy_id"],
            ["sla_policies.tenant_id", "sla_policies.id"],
            name=op.f("fk_sla_violations_tenant_id_policy_id_sla_policies"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_sla_violations_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_violations")),
        sa.UniqueConstraint(
            "tenant_id",
            "conversation_id",
            "policy_id",
            "kind",
            name=op.f("uq_sla_violations_tenant_id_conversation_id_policy_id_kind"),
        ),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_sla_violations_tenant_id_id")),
    )
    op.create_table(
        "comms_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("channel_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
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
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_comms_events_direction")
        ),
        sa.CheckConstraint(
            "kind IN ('message', 'status', 'send', 'alert')", name=op.f("ck_comms_events_kind")
        ),
        sa.CheckConstraint(
            "provider IN ('green_api', 'whatsapp_cloud', 'twilio_sms', 'telegram', 'email')",
            name=op.f("ck_comms_events_provider"),
        ),
        sa.CheckConstraint(
            "http_status IS NULL OR http_status BETWEEN 100 AND 599",
            name=op.f("ck_comms_events_http_status"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "channel_id"],
            ["channels.tenant_id", "channels.id"],
            name=op.f("fk_comms_events_tenant_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "message_id"],
            ["messages.tenant_id", "messages.id"],
            name=op.f("fk_comms_events_tenant_id_message_id_messages"),
            ondelete="SET NULL (message_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_comms_events_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comms_events")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_comms_events_tenant_id_id")),
    )
    op.create_index(
        "ix_comms_events_tenant_id_created_at",
        "comms_events",
        ["tenant_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_comms_events_tenant_id_message_id",
        "comms_events",
        ["tenant_id", "message_id"],
        unique=False,
    )
    op.create_table(
        "media_files",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("mime_type", sa.Text(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("caption", sa.Text(), nullable=True),
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
        sa.CheckConstraint(
            "size_bytes IS NULL OR size_bytes >= 0", name=op.f("ck_media_files_size_bytes")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "message_id"],
            ["messages.tenant_id", "messages.id"],
            name=op.f("fk_media_files_tenant_id_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_media_files_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_files")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_media_files_tenant_id_id")),
    )
    op.create_index(
        "ix_media_files_tenant_id_message_id",
        "media_files",
        ["tenant_id", "message_id"],
        unique=False,
    )
    op.create_table(
        "staff_notifications",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("conversation_id", sa.UUID(), nullable=False),
        sa.Column("message_id", sa.UUID(), nullable=True),
        sa.Column("type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'pending'"), nullable=False),
        sa.Column("urgent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("detail", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("alerts_sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.UUID(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
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
        sa.CheckConstraint(
            "status <> 'acknowledged' OR acknowledged_at IS NOT NULL",
            name=op.f("ck_staff_notifications_acknowledged_fields"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'acknowledged')",
            name=op.f("ck_staff_notifications_status"),
        ),
        sa.CheckConstraint(
            "type IN ('negative_sentiment', 'escalation', 'low_confidence', 'human_requested', 'sla_breach', 'delivery_failed')",
            name=op.f("ck_staff_notifications_type"),
        ),
        sa.CheckConstraint("alerts_sent >= 0", name=op.f("ck_staff_notifications_alerts_sent")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "acknowledged_by"],
            ["users.tenant_id", "users.id"],
            name=op.f("fk_staff_notifications_tenant_id_acknowledged_by_users"),
            ondelete="SET NULL (acknowledged_by)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "conversation_id"],
            ["conversations.tenant_id", "conversations.id"],
            name=op.f("fk_staff_notifications_tenant_id_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "message_id"],
            ["messages.tenant_id", "messages.id"],
            name=op.f("fk_staff_notifications_tenant_id_message_id_messages"),
            ondelete="SET NULL (message_id)",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_staff_notifications_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_notifications")),
        sa.UniqueConstraint("tenant_id", "id", name=op.f("uq_staff_notifications_tenant_id_id")),
    )
    op.create_index(
        "ix_staff_notifications_due",
        "staff_notifications",
        ["next_alert_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'sent')"),
    )
    op.create_index(
        "ix_staff_notifications_tenant_id_conversation_id",
        "staff_notifications",
        ["tenant_id", "conversation_id"],
        unique=False,
    )
    op.create_index(
        "uq_staff_notifications_message_type",
        "staff_notifications",
        ["tenant_id", "message_id", "type"],
        unique=True,
        postgresql_where=sa.text("message_id IS NOT NULL"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints; children go before their parents.
    for table in reversed(TABLES):
        op.drop_table(table)
