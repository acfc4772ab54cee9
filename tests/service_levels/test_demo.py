"""The demo tenants come with service levels: a guest writing to Trattoria Roma on its closed
Monday gets a first-response deadline half an hour into Tuesday's lunch service."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import select

from domain.events import InboundMessageReceived, Provider
from persistence.crypto import SecretCipher
from persistence.demo.tenants import DEMO_TENANTS
from persistence.models import Conversation, SlaPolicy
from persistence.seed import DEFAULT_KNOWLEDGE_PATH, seed_demo
from persistence.uow import UnitOfWorkFactory
from workers.consumers import intake
from workers.settings import Settings

ROME = ZoneInfo("Europe/Rome")


async def test_demo_tenants_have_policies_and_the_trattorias_hours_count(
    database: Settings, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    # Copies under fresh slugs: the demo tenants themselves are the seed tests' to create.
    knowledge = json.loads(DEFAULT_KNOWLEDGE_PATH.read_text())
    copies = []
    for demo in DEMO_TENANTS:
        copy = dataclasses.replace(demo, slug=f"{demo.slug}-{uuid4().hex[:8]}")
        knowledge[copy.slug] = knowledge[demo.slug]
        copies.append(copy)
    path = tmp_path / "knowledge.json"
    path.write_text(json.dumps(knowledge))
    cipher = SecretCipher.from_settings(database)
    await seed_demo(uow_factory, cipher=cipher, knowledge_path=path, tenants=tuple(copies))
    for copy in copies:
        async with uow_factory(copy.tenant_id) as uow:
            assert await uow.service_levels.policies(), copy.slug
    trattoria = next(copy for copy in copies if copy.vertical == "restaurant")
    async with uow_factory(trattoria.tenant_id) as uow:
        (channel,) = await uow.channels.list_all()
        channel_id = channel.id
        policy_id = (await uow.session.execute(select(SlaPolicy.id))).scalar_one()
    event = InboundMessageReceived(
        tenant_id=trattoria.tenant_id,
        provider=Provider.TELEGRAM,
        channel_id=channel_id,
        provider_event_id="sla-demo-1",
        provider_message_id="sla-demo-1",
        sender_handle="sla-demo-guest",
        text="Un tavolo per due stasera?",
        sent_at=datetime(2030, 1, 7, 10, tzinfo=ROME),  # a Monday: closed
    )
    async with uow_factory(trattoria.tenant_id) as uow:
        await intake.handle(event, uow)
        await uow.commit()
    async with uow_factory(trattoria.tenant_id) as uow:
        row = (
            await uow.session.execute(
                select(Conversation.sla_policy_id, Conversation.first_response_due_at)
                .where(Conversation.channel_id == channel_id)
                .order_by(Conversation.created_at.desc())
                .limit(1)
            )
        ).one()
    assert row[0] == policy_id
    assert row[1] == datetime(2030, 1, 8, 12, 30, tzinfo=ROME)
