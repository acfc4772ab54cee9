"""The demo tenants' scenarios: Trattoria Roma books tables on Telegram, Aurora hands late
check-out requests to staff (seeded here as copies, so the real demo tenants stay unseeded)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from uuid import uuid4

from domain.flows import Flow
from persistence.crypto import SecretCipher
from persistence.demo.tenants import AURORA, TRATTORIA
from persistence.seed import DEFAULT_KNOWLEDGE_PATH, seed_demo
from persistence.uow import UnitOfWorkFactory
from workers.settings import Settings


async def test_the_demo_tenants_get_their_published_scenarios(
    database: Settings, uow_factory: UnitOfWorkFactory, tmp_path: Path
) -> None:
    knowledge = json.loads(DEFAULT_KNOWLEDGE_PATH.read_text())
    copies = []
    for demo, name, provider in (
        (TRATTORIA, "table_booking", "telegram"),
        (AURORA, "late_checkout", None),
    ):
        copy = dataclasses.replace(demo, slug=f"{demo.slug}-{uuid4().hex[:8]}")
        knowledge[copy.slug] = knowledge[demo.slug]
        copies.append((copy, name, provider))
    path = tmp_path / "knowledge.json"
    path.write_text(json.dumps(knowledge))
    await seed_demo(
        uow_factory,
        cipher=SecretCipher.from_settings(database),
        knowledge_path=path,
        tenants=tuple(copy for copy, _, _ in copies),
    )
    for demo, name, provider in copies:
        async with uow_factory(demo.tenant_id) as uow:
            (live,) = await uow.flows.live()
        assert (live.name, live.version) == (name, 1)
        triggers = Flow.model_validate(live.flow).triggers
        assert triggers[0].providers == ([provider] if provider else [])
