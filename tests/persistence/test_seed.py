"""The demo seed: three tenants with their channels and knowledge, and a second run is a no-op."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from uuid import uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.demo.tenants import DEMO_TENANTS
from persistence.directory import ChannelDirectory
from persistence.models import RoutingRule, metadata
from persistence.seed import DEFAULT_KNOWLEDGE_PATH, UnknownTenantKnowledgeError, seed_demo
from persistence.uow import UnitOfWorkFactory
from workers.settings import Settings

# Tables whose content the seed writes: their row counts must not move on a second run.
COUNTED = ("tenants", "properties", "channels", "knowledge_items", "templates", "users", "prompts")


async def _snapshot(settings: Settings) -> dict[str, object]:
    engine = create_async_engine(settings.migration_database_url)
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql(f"SET search_path TO {settings.db_schema}")
            counts = {
                table: await connection.scalar(
                    select(func.count()).select_from(metadata.tables[table])
                )
                for table in COUNTED
            }
            stamps = await connection.scalar(
                select(func.max(metadata.tables["tenants"].c.updated_at))
            )
            return {**counts, "latest_update": stamps}
    finally:
        await engine.dispose()


async def test_seed_creates_the_demo_tenants_once(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> None:
    cipher = SecretCipher.from_settings(database)
    first = await seed_demo(uow_factory, cipher=cipher)
    assert set(first.created) == {"aurora-hotels", "seaside-stays", "trattoria-roma"}
    before = await _snapshot(database)

    second = await seed_demo(uow_factory, cipher=cipher)

    assert second.created == ()
    assert set(second.existing) == set(first.created)
    assert await _snapshot(database) == before


async def test_seeded_tenants_are_complete(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> None:
    await seed_demo(uow_factory, cipher=SecretCipher.from_settings(database))
    for demo in DEMO_TENANTS:
        async with uow_factory(demo.tenant_id) as uow:
            tenant = await uow.tenants.get()
            assert tenant is not None
            assert tenant.slug == demo.slug
            assert len(await uow.knowledge.list_entries()) >= 15
            assert len(await uow.properties.list_all()) == len(demo.properties)
            assert (await uow.prompts.published()) is not None
            assert await uow.ai_settings.get() is not None
            assert len(await uow.alert_targets.list_enabled()) == 1
            rules = {(t.channel, t.rule_key) for t in await uow.templates.list_live()}
            for channel in demo.channels:
                for rule in ("T_MINUS_3", "T_MINUS_1", "DAY_OF"):
                    assert (channel.provider.value, rule) in rules
            users = [await uow.staff.find_by_email(email=s.email) for s in demo.staff]
            assert all(users)


async def test_demo_channels_route_with_their_secrets(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> None:
    await seed_demo(uow_factory, cipher=SecretCipher.from_settings(database))
    directory = ChannelDirectory.from_settings(database)
    try:
        aurora = DEMO_TENANTS[0]
        route = await directory.lookup(aurora.public_id(Provider.GREEN_API))
        assert route is not None
        assert route.tenant_id == aurora.tenant_id
        assert route.webhook_secret == aurora.channels[0].webhook_secret
        assert route.credentials["api_url"] == "http://127.0.0.1:8025/green-api"
        assert await directory.lookup(uuid4()) is None
    finally:
        await directory.close()


async def test_seed_reads_a_knowledge_file_of_the_documented_format(
    database: Settings, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    base = DEMO_TENANTS[2]
    demo = dataclasses.replace(base, slug=f"kb-{uuid4().hex[:10]}", name="Fixture Bistro")
    item = {"key": "hours", "question": "When are you open?", "answer": "Noon to 11 pm."}
    category = {"slug": "visit", "name": "Visit", "display_order": 1, "items": [item]}
    path = tmp_path / "kb.json"
    path.write_text(json.dumps({demo.slug: {"assistant_name": "Bo", "categories": [category]}}))
    cipher = SecretCipher.from_settings(database)

    report = await seed_demo(uow_factory, cipher=cipher, knowledge_path=path, tenants=(demo,))

    assert report.created == (demo.slug,)
    async with uow_factory(demo.tenant_id) as uow:
        [entry] = await uow.knowledge.list_entries()
        assert (entry.category, entry.question) == ("visit", "When are you open?")
        profile = await uow.assistant_profiles.get()
        assert profile is not None
        assert profile.assistant_name == "Bo"


async def test_seed_refuses_a_tenant_missing_from_the_knowledge_file(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> None:
    demo = dataclasses.replace(DEMO_TENANTS[0], slug=f"absent-{uuid4().hex[:10]}")
    with pytest.raises(UnknownTenantKnowledgeError):
        await seed_demo(
            uow_factory,
            cipher=SecretCipher.from_settings(database),
            knowledge_path=DEFAULT_KNOWLEDGE_PATH,
            tenants=(demo,),
        )


async def test_demo_agents_have_skills_capacity_and_availability(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> None:
    await seed_demo(uow_factory, cipher=SecretCipher.from_settings(database))
    for demo in DEMO_TENANTS:
        async with uow_factory(demo.tenant_id) as uow:
            agents = {
                row.email: row.candidate for row in await uow.routing.candidates(online_only=False)
            }
            for member in demo.staff:
                agent = agents[member.email]
                assert agent.skills == set(member.skills)
                assert agent.capacity == member.capacity
                assert agent.availability == ("online" if member.online else "offline")
                assert len(agent.team_ids) == 1
            assert any(
                a.availability == "online" and "lang:en" in a.skills for a in agents.values()
            )
            [rule] = await uow.configuration.list_all(RoutingRule)
            assert rule.team_id in next(iter(agents.values())).team_ids
            assert (rule.channel_id, rule.property_id, rule.topic) == (None, None, None)
