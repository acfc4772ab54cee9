"""A change made through the API reaches the running pipeline as it commits (LISTEN/NOTIFY),
long before the caches' TTL: every cache here lives for five minutes, so only the notice can
explain a change seen within the deadline."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from persistence.changes import ConfigChange, ConfigChanges, listener_dsn
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel
from tests.support.waiting import eventually
from workers.consumers.tenant_context import TenantContexts
from workers.ingress.server import build_app
from workers.settings import Settings

LONG_TTL = 300.0
TELEGRAM_UPDATE = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "date": 1_700_000_000,
        "chat": {"id": 42, "type": "private"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ana"},
        "text": "hello",
    },
}


@pytest.fixture
async def ingress(database: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The production ingress app on the test database, its lifespan running."""
    app = build_app(database.model_copy(update={"channel_cache_seconds": LONG_TTL}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingress.test") as client:
            yield client


async def test_a_channel_disabled_through_the_api_is_refused_by_the_ingress_within_seconds(
    api: httpx.AsyncClient, hotel: Hotel, ingress: httpx.AsyncClient
) -> None:
    created = await api.post(
        "/api/v1/channels",
        json={
            "provider": "telegram",
            "property_id": str(hotel.tenant.property_id),
            "name": "Live bot",
            "address": "@live_bot",
            "credentials": {"bot_token": "123456789:AAE-live-test-bot-token"},
        },
        headers=hotel.admin.headers,
    )
    assert created.status_code == 201, created.text
    channel = created.json()
    path = f"/webhooks/telegram/{channel['public_id']}"
    wrong = {"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"}
    # The ingress resolves (and caches) the enabled channel: a wrong secret is refused, not 404.
    first = await ingress.post(path, json=TELEGRAM_UPDATE, headers=wrong)
    assert first.status_code in (401, 403), first.text

    disabled = await api.patch(
        f"/api/v1/channels/{channel['id']}", json={"enabled": False}, headers=hotel.admin.headers
    )
    assert disabled.status_code == 200, disabled.text

    async def refused() -> bool:
        response = await ingress.post(path, json=TELEGRAM_UPDATE, headers=wrong)
        return response.status_code == 404

    await eventually(refused, "the disabled channel's webhook answered 404")

    enabled = await api.patch(
        f"/api/v1/channels/{channel['id']}", json={"enabled": True}, headers=hotel.admin.headers
    )
    assert enabled.status_code == 200, enabled.text

    async def accepted_again() -> bool:
        response = await ingress.post(path, json=TELEGRAM_UPDATE, headers=wrong)
        return response.status_code != 404

    await eventually(accepted_again, "the re-enabled channel resolved again")


async def answer_now(contexts: TenantContexts, uow_factory: UnitOfWorkFactory, hotel: Hotel) -> str:
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        context = await contexts.get(uow, timezone="Europe/Madrid")
    match = context.matcher.best("What is the wifi password?")
    return match.entry.answer if match is not None else ""


async def test_a_knowledge_item_changed_through_the_api_reaches_a_running_workers_cache(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory, database: Settings
) -> None:
    headers = hotel.admin.headers
    category = await api.post(
        "/api/v1/knowledge/categories", json={"slug": "stay", "name": "Stay"}, headers=headers
    )
    assert category.status_code == 201, category.text
    item = await api.post(
        "/api/v1/knowledge/items",
        json={
            "category_id": category.json()["id"],
            "question": "What is the wifi password?",
            "answer": "The wifi password is AURORA-OLD.",
            "example_questions": ["wifi password", "internet password"],
        },
        headers=headers,
    )
    assert item.status_code == 201, item.text
    contexts = TenantContexts(ttl=LONG_TTL, database_url=database.database_url)
    try:
        assert "AURORA-OLD" in await answer_now(contexts, uow_factory, hotel)  # now cached
        changed = await api.patch(
            f"/api/v1/knowledge/items/{item.json()['id']}",
            json={"answer": "The wifi password is AURORA-NEW."},
            headers=headers,
        )
        assert changed.status_code == 200, changed.text

        async def new_answer() -> bool:
            return "AURORA-NEW" in await answer_now(contexts, uow_factory, hotel)

        await eventually(new_answer, "the cached context used the changed answer")
    finally:
        await contexts.close()


async def test_the_listener_reconnects_after_losing_its_connection(
    uow_factory: UnitOfWorkFactory, hotel: Hotel, database: Settings
) -> None:
    heard: list[ConfigChange] = []
    resets: list[bool] = []
    changes = ConfigChanges(
        database.database_url,
        on_change=heard.append,
        on_reset=lambda: resets.append(True),
        retry_seconds=0.1,
    )
    await changes.start()
    try:
        first_pid = changes.backend_pid
        assert first_pid is not None
        assert resets == [True]
        owner = await asyncpg.connect(listener_dsn(database.migration_database_url))
        try:
            await owner.execute("SELECT pg_terminate_backend($1)", first_pid)
        finally:
            await owner.close()

        async def reconnected() -> bool:
            pid = changes.backend_pid
            return pid is not None and pid != first_pid and len(resets) == 2

        await eventually(reconnected, "the listener connected again and reset the caches")
        async with uow_factory(hotel.tenant.tenant_id) as uow:
            await uow.prompts.add(body="A prompt written after the reconnection.")
            await uow.commit()

        async def heard_it() -> bool:
            return any(
                change.table == "prompts" and change.tenant_id == hotel.tenant.tenant_id
                for change in heard
            )

        await eventually(heard_it, "the change after the reconnection was heard")
    finally:
        await changes.close()
