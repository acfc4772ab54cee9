"""The report queries read one tenant's month through the report indexes, never by scanning
``messages`` or ``conversations``: 120,000 messages and 30,000 conversations of four tenants
over six months are loaded with ``INSERT ... SELECT generate_series`` (seconds, not minutes),
analysed, and each statement the API runs is EXPLAINed for one tenant's March, as the
application role under row-level security. The load goes to a database of its own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from domain.events import Provider
from domain.inbox import Scope
from persistence.db import create_engine
from persistence.migrate import upgrade_async
from persistence.models import User
from persistence.repositories.reports import (
    ReportQuery,
    Statement,
    decisions_statement,
    response_times_statement,
    service_levels_statement,
)
from persistence.uow import UnitOfWorkFactory
from tests.conftest import create_database, database_settings, drop_database
from workers.settings import Settings

TENANTS = 4
CONVERSATIONS_PER_TENANT = 7_500  # four messages each: 120,000 messages in all
FIRST_DAY = datetime(2026, 1, 1, tzinfo=UTC)
SPAN_SECONDS = 181 * 24 * 3600  # January to June
STEP_SECONDS = SPAN_SECONDS // CONVERSATIONS_PER_TENANT
MARCH = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))

GUESTS = text(
    "INSERT INTO guests (id, tenant_id, full_name)"
    " SELECT md5(CAST(:tenant AS uuid)::text || '/' || g)::uuid, CAST(:tenant AS uuid),"
    " 'Guest ' || g"
    " FROM generate_series(1, :count) g"
)
CONVERSATIONS = text(
    "INSERT INTO conversations (id, tenant_id, guest_id, channel_id, status, team_id,"
    " assignee_id, first_message_at, last_message_at, first_response_at, closed_at)"
    " SELECT md5('c/' || CAST(:tenant AS uuid)::text || '/' || g)::uuid, CAST(:tenant AS uuid),"
    " md5(CAST(:tenant AS uuid)::text || '/' || g)::uuid,"
    " CAST(:channel AS uuid), 'closed',"
    " CASE g % 3 WHEN 0 THEN CAST(:team_a AS uuid) WHEN 1 THEN CAST(:team_b AS uuid) END,"
    " CASE WHEN g % 2 = 0 THEN CAST(:agent AS uuid) END, at, at,"
    " at + make_interval(secs => 5 + g % 600), at + make_interval(secs => 600 + g % 7200)"
    " FROM generate_series(1, :count) g,"
    " LATERAL (SELECT CAST(:first_day AS timestamptz)"
    "   + make_interval(secs => g * CAST(:step AS integer)) AS at) t"
)
MESSAGES = text(
    "INSERT INTO messages (tenant_id, conversation_id, channel_id, direction, sender_type,"
    " status, content, created_at, send_after, ai_decision)"
    " SELECT c.tenant_id, c.id, c.channel_id, d.direction,"
    " CASE d.direction WHEN 'inbound' THEN 'guest' ELSE 'bot' END,"
    " CASE d.direction WHEN 'inbound' THEN 'delivered' ELSE 'sent' END, 'words',"
    " c.first_message_at + make_interval(mins => d.k),"
    " CASE d.direction WHEN 'outbound' THEN c.first_message_at + make_interval(mins => d.k) END,"
    " CASE WHEN d.direction = 'inbound' AND d.k = 0"
    "   THEN (ARRAY['reply', 'escalate', 'skip'])[1 + abs(hashtext(c.id::text)) % 3] END"
    " FROM conversations c,"
    " (VALUES (0, 'inbound'), (1, 'outbound'), (2, 'inbound'), (3, 'outbound')) d(k, direction)"
    " WHERE c.tenant_id = CAST(:tenant AS uuid)"
)


@dataclass(frozen=True, slots=True)
class Loaded:
    tenant_id: UUID
    team_id: UUID
    agent_id: UUID


async def _tenant(uow_factory: UnitOfWorkFactory) -> dict[str, str]:
    tenant_id = uuid4()
    async with uow_factory(tenant_id) as uow:
        await uow.tenants.add(name="Bulk", slug=f"bulk-{tenant_id.hex[:12]}", vertical="hotel")
        place = await uow.properties.add(name="Bulk", timezone="UTC")
        channel = await uow.channels.add(
            property_id=place.id,
            provider=Provider.TELEGRAM,
            name="Bulk bot",
            address=f"@bulk_{tenant_id.hex[:8]}",
            credentials={"bot_token": "123:abc"},
            webhook_secret=None,
        )
        team_a = await uow.staff.add_team(name="A")
        team_b = await uow.staff.add_team(name="B")
        agent = User(
            tenant_id=tenant_id, email=f"a-{tenant_id.hex[:8]}@x.example", full_name="A",
            password_hash="-",
        )  # fmt: skip
        uow.session.add(agent)
        await uow.commit()
    return {
        "tenant": str(tenant_id),
        "channel": str(channel.id),
        "team_a": str(team_a.id),
        "team_b": str(team_b.id),
        "agent": str(agent.id),
    }


@dataclass(frozen=True, slots=True)
class Bulk:
    settings: Settings
    factory: UnitOfWorkFactory


@pytest.fixture(scope="module")
async def bulk() -> AsyncIterator[Bulk]:
    """A database of its own, dropped afterwards (deleting 120,000 rows would take longer),
    so the other tests' database never holds the load."""
    name = f"frontdesk_test_{uuid4().hex[:16]}"
    await create_database(name)
    settings = database_settings(name)
    try:
        await upgrade_async(settings)
        factory = UnitOfWorkFactory.from_settings(settings)
        yield Bulk(settings, factory)
        await factory.dispose()
    finally:
        await drop_database(name)


@pytest.fixture(scope="module")
async def loaded(bulk: Bulk) -> Loaded:
    """Four tenants' half year, loaded and analysed as the owner (no RLS on the load)."""
    database = bulk.settings
    tenants = [await _tenant(bulk.factory) for _ in range(TENANTS)]
    owner = create_engine(database.migration_database_url, schema=database.db_schema, pool_size=1)
    try:
        async with owner.begin() as connection:
            for tenant in tenants:
                count = {"count": CONVERSATIONS_PER_TENANT}
                await connection.execute(GUESTS, {**tenant, **count})
                await connection.execute(
                    CONVERSATIONS,
                    {**tenant, **count, "first_day": FIRST_DAY, "step": STEP_SECONDS},
                )
                await connection.execute(MESSAGES, tenant)
            loaded_messages = await connection.scalar(text("SELECT count(*) FROM messages"))
            assert loaded_messages == TENANTS * CONVERSATIONS_PER_TENANT * 4
        # VACUUM (outside a transaction) sets the visibility map the index-only scans rely on.
        async with owner.execution_options(isolation_level="AUTOCOMMIT").connect() as connection:
            for table in ("guests", "conversations", "messages"):
                await connection.exec_driver_sql(f"VACUUM ANALYZE {table}")
    finally:
        await owner.dispose()
    first = tenants[0]
    return Loaded(UUID(first["tenant"]), UUID(first["team_a"]), UUID(first["agent"]))


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


async def explain(
    uow_factory: UnitOfWorkFactory, tenant_id: UUID, statement: Statement
) -> list[dict[str, Any]]:
    """The plan PostgreSQL makes for ``statement`` with its parameters, as the app role."""
    async with uow_factory(tenant_id) as uow:
        connection = await uow.session.connection()
        compiled = statement.compile(
            dialect=connection.dialect, compile_kwargs={"render_postcompile": True}
        )
        arguments = tuple(compiled.params[name] for name in compiled.positiontup or ())
        result = await connection.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", arguments)
        document = result.scalar_one()
    plan = (json.loads(document) if isinstance(document, str) else document)[0]["Plan"]
    return list(_nodes(plan))


SCOPES = {
    "tenant": lambda loaded: Scope(everything=True),
    "team_lead": lambda loaded: Scope(
        everything=False,
        user_id=loaded.agent_id,
        team_ids=frozenset({loaded.team_id}),
        whole_teams=True,
    ),
}


@pytest.mark.parametrize("scope", sorted(SCOPES))
@pytest.mark.parametrize("group_by", ["none", "property", "team", "agent", "channel"])
@pytest.mark.parametrize(
    ("build", "index"),
    [
        (response_times_statement, "ix_conversations_reports"),
        (decisions_statement, "ix_messages_inbound_reports"),
        (service_levels_statement, "ix_conversations_reports"),
    ],
    ids=["response_times", "decisions", "service_levels"],
)
async def test_a_month_of_one_tenant_is_read_through_the_report_index(
    bulk: Bulk,
    loaded: Loaded,
    build: Any,
    index: str,
    group_by: str,
    scope: str,
) -> None:
    query = ReportQuery(
        start_at=MARCH[0], end_at=MARCH[1], group_by=group_by, scope=SCOPES[scope](loaded)
    )
    nodes = await explain(bulk.factory, loaded.tenant_id, build(loaded.tenant_id, query))

    scanned = [
        (node["Node Type"], node.get("Relation Name"), node.get("Index Name")) for node in nodes
    ]
    assert index in {node.get("Index Name") for node in nodes}, scanned
    sequential = {node.get("Relation Name") for node in nodes if node["Node Type"] == "Seq Scan"}
    assert not sequential & {"messages", "conversations"}, scanned


async def test_the_figures_of_the_loaded_month_add_up(bulk: Bulk, loaded: Loaded) -> None:
    """The same statements run: March holds its share of the tenant's conversations, each with
    two guest messages, one of them decided."""
    query = ReportQuery(
        start_at=MARCH[0], end_at=MARCH[1], group_by="team", scope=Scope(everything=True)
    )
    async with bulk.factory(loaded.tenant_id) as uow:
        times = await uow.reports.response_times(query=query)
        decisions = await uow.reports.decisions(query=query)
    total = next(row for row in times if row.total)
    in_march = sum(
        1
        for g in range(1, CONVERSATIONS_PER_TENANT + 1)
        if MARCH[0].timestamp() <= FIRST_DAY.timestamp() + g * STEP_SECONDS < MARCH[1].timestamp()
    )
    assert total.conversations == total.answered == total.resolved == in_march
    assert sum(row.conversations for row in times if not row.total) == in_march
    decided = next(row for row in decisions if row.total)
    assert decided.inbound >= 2 * in_march - 2  # a conversation of 31 March, 23:58 spills over
    assert decided.decided == decided.reply + decided.escalate + decided.skip
