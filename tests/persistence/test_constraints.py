"""Every CHECK and UNIQUE the models declare refuses what it should.

Each case copies a valid row (from ``population.py``) with a fresh id, breaks it in one way and
expects the database to name exactly the constraint under test. The cases are generated from
the metadata: a new CHECK without an entry in VIOLATIONS (or an IN-list) fails the sweep.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import CheckConstraint, Table, UniqueConstraint, insert, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.models import metadata
from tests.persistence.conftest import constraint_name, sqlstate

CHECK_VIOLATION, UNIQUE_VIOLATION = "23514", "23505"
IN_LIST = re.compile(r"^(?:\w+ IS NULL OR )?(\w+) IN \(")

# How to break each CHECK that is not a plain IN-list (those get an unknown value).
VIOLATIONS: dict[str, dict[str, Any]] = {
    "ck_tenants_slug_format": {"slug": "Not A Slug"},
    "ck_ai_settings_confidence_threshold": {"confidence_threshold": Decimal("1.5")},
    "ck_ai_settings_negative_sentiment_threshold": {"negative_sentiment_threshold": Decimal("-2")},
    "ck_ai_settings_response_delay_minutes": {"response_delay_minutes": -1},
    "ck_ai_settings_quiet_hours_both_or_neither": {"quiet_hours_end": None},
    "ck_ai_settings_inbound_messages_per_minute": {"inbound_messages_per_minute": 0},
    "ck_channels_sends_per_second": {"sends_per_second": Decimal(0)},
    "ck_bot_scenarios_version": {"version": 0},
    "ck_bot_scenario_versions_version": {"version": 0},
    "ck_bot_dialog_states_retries": {"retries": -1},
    "ck_guests_phone_e164": {"phone": "0034 600 111 222"},
    "ck_knowledge_categories_display_order": {"display_order": -1},
    "ck_knowledge_items_display_order": {"display_order": -1},
    "ck_rate_limit_buckets_tokens_within_capacity": {"tokens": Decimal(11)},
    "ck_rate_limit_buckets_refill_per_second": {"refill_per_second": Decimal(-1)},
    "ck_rate_limit_buckets_capacity": {"capacity": Decimal(0), "tokens": Decimal(0)},
    "ck_agent_status_capacity": {"capacity": 201},
    "ck_routing_rules_position": {"position": -1},
    "ck_routing_rules_topic": {"topic": "Not A Topic"},
    "ck_routing_rules_humans_first_needs_channel": {"humans_first": True, "channel_id": None},
    "ck_sla_policies_first_response_minutes": {"first_response_minutes": 0},
    "ck_sla_policies_resolution_minutes": {"resolution_minutes": 0},
    "ck_sla_policies_next_response_minutes": {"next_response_minutes": 0},
    "ck_sla_policies_priorities": {"priorities": ["whenever"]},
    "ck_sla_policies_position": {"position": -1},
    "ck_sla_policies_warning_percent": {"warning_percent": 100},
    "ck_templates_version": {"version": 0},
    "ck_triggers_time_based_template": {"template_id": None},
    "ck_triggers_condition_event": {"kind": "condition_based"},
    "ck_trigger_firings_waiting_due": {"status": "waiting"},
    "ck_users_email_lower": {"email": "Mixed@Example.com"},
    "ck_agent_skills_level": {"level": 6},
    "ck_business_hours_weekday": {"weekday": 8},
    "ck_business_hours_overnight": {"opens_at": time(21)},
    "ck_business_hours_one_owner": {"property_id": None},
    "ck_canned_responses_shortcut_format": {"shortcut": "wifi"},
    "ck_prompts_published_fields": {"published_at": None},
    "ck_prompts_version": {"version": 0},
    "ck_ai_model_settings_enabled_needs_model": {"model": None},
    "ck_ai_model_settings_max_tokens": {"max_tokens": 0},
    "ck_ai_model_settings_monthly_token_budget": {"monthly_token_budget": -1},
    "ck_ai_model_settings_temperature": {"temperature": Decimal("2.5")},
    "ck_ai_model_settings_timeout_seconds": {"timeout_seconds": 0},
    "ck_compositions_attempts": {"attempts": 0},
    "ck_compositions_tokens": {"prompt_tokens": -1},
    "ck_property_settings_late_checkout_fee": {"late_checkout_fee": -1},
    "ck_reservations_dates_in_order": {"check_out": date(2029, 12, 31)},
    "ck_reservations_party_size": {"party_size": 0},
    "ck_staff_alert_targets_kind_fields": {"kind": "webhook"},
    "ck_messages_send_after_outbound_only": {"send_after": datetime(2030, 1, 1, tzinfo=UTC)},
    "ck_messages_sentiment_score": {"sentiment_score": Decimal("1.5")},
    "ck_comms_events_http_status": {"http_status": 700},
    "ck_media_files_size_bytes": {"size_bytes": -1},
    "ck_staff_notifications_alerts_sent": {"alerts_sent": -1},
    "ck_staff_notifications_acknowledged_fields": {"status": "acknowledged"},
    "ck_staff_alert_deliveries_attempt": {"attempt": 0},
    "ck_staff_alert_deliveries_tries": {"tries": 0},
    "ck_api_keys_permissions_not_empty": {"permissions": []},
    "ck_knowledge_documents_failed_has_reason": {"status": "failed", "failure_reason": None},
    "ck_knowledge_documents_size_bytes": {"size_bytes": -1},
    "ck_knowledge_documents_version": {"version": 0},
    "ck_knowledge_documents_passage_count": {"passage_count": -1},
    "ck_knowledge_passages_position": {"position": -1},
    "ck_knowledge_passages_embedding_model": {"embedding_model": None},
}

# A copied row can break two unique keys at once; these move it off the other one.
UNIQUE_OVERRIDES: dict[str, dict[str, Any]] = {
    "uq_channels_public_id": {"address": "+10000000000"},
    "uq_channels_tenant_id_provider_address": {"public_id": uuid4()},
    "uq_prompts_tenant_id_version": {"is_published": False},
    "uq_prompts_one_published": {"version": 99},
    "uq_tenants_slug": {},
    "uq_bot_scenarios_tenant_id_name": {"version": 2},
    # Unique indexes are checked before foreign keys: a stray reservation id is never reached.
    "uq_scheduled_messages_message_id": {"reservation_id": uuid4()},
    # The copied guest message takes the staff reply's Idempotency-Key (population.py).
    "uq_messages_idempotency_key": {"provider_message_id": None, "idempotency_key": "pop-reply"},
    "uq_holidays_every_property_day": {"property_id": None},
}
# Which row to copy where a table holds several kinds.
ROW_FILTERS = {
    "messages": "provider_message_id IS NOT NULL",
    "holidays": "property_id IS NOT NULL",
}


def _checks() -> list[tuple[str, str]]:
    return sorted(
        (table.name, constraint.name)  # type: ignore[misc]
        for table in metadata.sorted_tables
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    )


def _uniques() -> list[tuple[str, str]]:
    found = []
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                columns = {column.name for column in constraint.columns}
                if columns != {"tenant_id", "id"}:  # the composite FK target, covered by the PK
                    found.append((table.name, str(constraint.name)))
        found += [(table.name, str(index.name)) for index in table.indexes if index.unique]
    return sorted(found)


def _violation(table: Table, name: str) -> dict[str, Any]:
    if name in VIOLATIONS:
        return VIOLATIONS[name]
    constraint = next(c for c in table.constraints if c.name == name)
    match = IN_LIST.match(str(constraint.sqltext))  # type: ignore[attr-defined]
    assert match, f"{name}: add a way to break it to VIOLATIONS"
    return {match.group(1): "__not_a_valid_value__"}


async def _insert_copy(
    engine: AsyncEngine, table: Table, tenant_id: UUID, changes: dict[str, Any]
) -> DBAPIError:
    statement = select(table)
    if "tenant_id" in table.c:
        statement = statement.where(table.c.tenant_id == tenant_id)
    elif table.name == "tenants":
        statement = statement.where(table.c.id == tenant_id)
    if table.name in ROW_FILTERS:
        statement = statement.where(text(ROW_FILTERS[table.name]))
    async with engine.connect() as connection:
        original = (await connection.execute(statement.limit(1))).mappings().one()
        row = {**original, "id": uuid4(), **changes}
        with pytest.raises(DBAPIError) as refused:
            await connection.execute(insert(table).values(**row))
        await connection.rollback()
    return refused.value


@pytest.mark.parametrize(("table_name", "name"), _checks())
async def test_check_constraint_refuses(
    table_name: str, name: str, populated: tuple[UUID, UUID], owner_engine: AsyncEngine
) -> None:
    table = metadata.tables[table_name]
    error = await _insert_copy(owner_engine, table, populated[0], _violation(table, name))
    assert (sqlstate(error), constraint_name(error)) == (CHECK_VIOLATION, name)


@pytest.mark.parametrize(("table_name", "name"), _uniques())
async def test_unique_constraint_refuses(
    table_name: str, name: str, populated: tuple[UUID, UUID], owner_engine: AsyncEngine
) -> None:
    table = metadata.tables[table_name]
    error = await _insert_copy(owner_engine, table, populated[0], UNIQUE_OVERRIDES.get(name, {}))
    assert (sqlstate(error), constraint_name(error)) == (UNIQUE_VIOLATION, name)


def test_the_sweep_sees_every_constraint() -> None:
    assert len(_checks()) >= 60
    assert len(_uniques()) >= 35
    stale = set(VIOLATIONS) - {name for _, name in _checks()}
    assert not stale, f"VIOLATIONS names constraints that no longer exist: {stale}"
