"""Configuration through the API reaches what the pipeline reads, in one audited transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from sqlalchemy import text

from domain.autoreply import Reply, Skip, decide
from domain.events import SentimentLabel
from domain.sentiment import SentimentResult
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff
from workers.consumers.tenant_context import TenantContexts

NEUTRAL = SentimentResult(0.0, SentimentLabel.NEUTRAL)
QUESTION = "Is there a rooftop pool I can use?"


async def decision_for(uow_factory: UnitOfWorkFactory, hotel: Hotel, question: str) -> object:
    """What autoreply decides for ``question`` now: its tenant context, read fresh."""
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        context = await TenantContexts(ttl=0).get(uow, timezone="Europe/Madrid")
    return decide(
        text=question,
        sentiment=NEUTRAL,
        settings=context.ai_settings,
        match=context.matcher.best(question),
        human_takeover=False,
        now=datetime.now(UTC),
        prompt_published=context.prompt_published,
    )


async def prompts_read(api: httpx.AsyncClient, hotel: Hotel) -> dict[str, str]:
    """The admin's headers with If-Match: the ETag of the prompt history just read."""
    read = await api.get("/api/v1/ai/prompts", headers=hotel.admin.headers)
    return {**hotel.admin.headers, "If-Match": read.headers["ETag"]}


async def publish_prompt(api: httpx.AsyncClient, hotel: Hotel, body: str) -> int:
    created = await api.post("/api/v1/ai/prompts", json={"body": body}, headers=hotel.admin.headers)
    assert created.status_code == 201, created.text
    version = int(created.json()["version"])
    published = await api.post(
        f"/api/v1/ai/prompts/{version}/publish", headers=await prompts_read(api, hotel)
    )
    assert published.status_code == 200, published.text
    return version


async def test_a_knowledge_item_added_through_the_api_answers_the_next_guest_question(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    headers = hotel.admin.headers
    assert isinstance(await decision_for(uow_factory, hotel, QUESTION), Skip)  # no prompt yet
    await publish_prompt(api, hotel, "You are the concierge.")
    category = await api.post(
        "/api/v1/knowledge/categories",
        json={"slug": "amenities", "name": "Amenities"},
        headers=headers,
    )
    assert category.status_code == 201, category.text
    item = await api.post(
        "/api/v1/knowledge/items",
        json={
            "category_id": category.json()["id"],
            "question": "Is there a rooftop pool?",
            "answer": "Yes: the rooftop pool is open from 9 am to 9 pm.",
            "example_questions": ["rooftop pool", "can I swim on the roof"],
        },
        headers=headers,
    )
    assert item.status_code == 201, item.text
    decision = await decision_for(uow_factory, hotel, QUESTION)
    assert isinstance(decision, Reply), decision
    assert "rooftop pool is open from 9 am" in decision.text

    deleted = await api.delete(f"/api/v1/knowledge/items/{item.json()['id']}", headers=headers)
    assert deleted.status_code == 200
    assert deleted.json()["deleted_at"] is not None
    after = await decision_for(uow_factory, hotel, QUESTION)
    assert not (isinstance(after, Reply) and "rooftop" in after.text)
    restored = await api.post(
        f"/api/v1/knowledge/items/{item.json()['id']}/restore", headers=headers
    )
    assert restored.json()["deleted_at"] is None
    assert isinstance(await decision_for(uow_factory, hotel, QUESTION), Reply)


async def test_the_published_prompt_version_is_the_one_the_pipeline_reads(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    first = await publish_prompt(api, hotel, "Version one.")
    second = await publish_prompt(api, hotel, "Version two.")
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        assert (await uow.prompts.published()).version == second  # type: ignore[union-attr]
    rollback = await api.post(
        f"/api/v1/ai/prompts/{first}/publish", headers=await prompts_read(api, hotel)
    )
    assert rollback.status_code == 200
    history = (await api.get("/api/v1/ai/prompts", headers=hotel.admin.headers)).json()
    assert [p["version"] for p in history if p["is_published"]] == [first]
    published = next(p for p in history if p["is_published"])
    assert published["published_by"] == str(hotel.admin.user_id)
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        row = await uow.prompts.published()
        assert row is not None
        assert (row.version, row.body) == (first, "Version one.")
    missing = await api.post(
        "/api/v1/ai/prompts/999/publish", headers=await prompts_read(api, hotel)
    )
    assert missing.status_code == 404


async def test_two_admins_saving_the_same_version_of_the_ai_settings_get_one_409(
    api: httpx.AsyncClient, hotel: Hotel, make_staff: MakeStaff, uow_factory: UnitOfWorkFactory
) -> None:
    other = await make_staff(hotel.tenant.tenant_id, roles=("admin",))
    read = await api.get("/api/v1/ai/settings", headers=hotel.admin.headers)
    assert read.status_code == 200
    tag = read.headers["etag"]
    values = {key: value for key, value in read.json().items() if key != "updated_at"}

    async def put(headers: dict[str, str], delay: int) -> httpx.Response:
        body = {**values, "response_delay_minutes": delay}
        return await api.put("/api/v1/ai/settings", json=body, headers={**headers, "If-Match": tag})

    responses = await asyncio.gather(put(hotel.admin.headers, 3), put(other.headers, 7))
    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200)
    assert winner.headers["etag"] != tag
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        row = await uow.ai_settings.get()
        assert row is not None
        assert row.response_delay_minutes == winner.json()["response_delay_minutes"]
    # The winner's ETag is current; without If-Match the answer is 428.
    again = await api.put(
        "/api/v1/ai/settings",
        json={**values, "response_delay_minutes": 1},
        headers={**hotel.admin.headers, "If-Match": winner.headers["etag"]},
    )
    assert again.status_code == 200, again.text
    bare = await api.put("/api/v1/ai/settings", json=values, headers=hotel.admin.headers)
    assert bare.status_code == 428


async def test_out_of_range_settings_are_422_naming_the_field_and_write_nothing(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    read = await api.get("/api/v1/ai/settings", headers=hotel.admin.headers)
    values = {key: value for key, value in read.json().items() if key != "updated_at"}
    for field, bad in (
        ("confidence_threshold", 1.5),
        ("negative_sentiment_threshold", -2),
        ("response_delay_minutes", -1),
        ("quiet_hours_start", "25:00"),
    ):
        response = await api.put(
            "/api/v1/ai/settings",
            json={**values, field: bad},
            headers={**hotel.admin.headers, "If-Match": read.headers["etag"]},
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert field in {error["field"] for error in response.json()["errors"]}
    half = await api.put(
        "/api/v1/ai/settings",
        json={**values, "quiet_hours_start": "22:00", "quiet_hours_end": None},
        headers={**hotel.admin.headers, "If-Match": read.headers["etag"]},
    )
    assert half.status_code == 422
    assert (await api.get("/api/v1/ai/settings", headers=hotel.admin.headers)).headers[
        "etag"
    ] == read.headers["etag"]


async def test_text_postgresql_cannot_store_is_422_naming_the_field_and_writes_nothing(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers = {**hotel.admin.headers, "Content-Type": "application/json"}
    created = await api.post(
        "/api/v1/knowledge/categories", json={"slug": "spa", "name": "Spa"}, headers=headers
    )
    assert created.status_code == 201, created.text
    path = f"/api/v1/knowledge/categories/{created.json()['id']}"
    # Raw JSON: a lone surrogate cannot be sent through httpx's own encoder.
    for raw in (b'{"name": "Spa\\u0000"}', b'{"name": "Spa \\ud800"}'):
        refused = await api.patch(path, content=raw, headers=headers)
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [error["field"] for error in refused.json()["errors"]] == ["name"]
    posted = await api.post(
        "/api/v1/knowledge/categories",
        content=b'{"slug": "bar", "name": "Bar\\u0000"}',
        headers=headers,
    )
    assert posted.status_code == 422, posted.text
    listed = await api.get("/api/v1/knowledge/categories", headers=headers)
    assert [(row["slug"], row["name"]) for row in listed.json()] == [("spa", "Spa")]


async def test_every_change_writes_one_audit_row_naming_who(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    headers = hotel.admin.headers
    prop = await api.post(
        "/api/v1/properties", json={"name": "Annex", "timezone": "Europe/Lisbon"}, headers=headers
    )
    assert prop.status_code == 201, prop.text
    bad_zone = await api.post(
        "/api/v1/properties", json={"name": "Nowhere", "timezone": "Mars/Olympus"}, headers=headers
    )
    assert bad_zone.status_code == 422
    assert bad_zone.json()["errors"][0]["field"] == "timezone"
    read = await api.get(f"/api/v1/properties/{prop.json()['id']}/settings", headers=headers)
    changed = await api.patch(
        f"/api/v1/properties/{prop.json()['id']}/settings",
        json={"check_in_time": "14:00", "late_checkout_fee": 30},
        headers={**headers, "If-Match": read.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    audit = (await api.get("/api/v1/audit", headers=headers)).json()
    assert [(a["resource"], a["action"]) for a in audit[:2]] == [
        ("property_settings", "update"),
        ("property", "create"),
    ]
    assert {a["actor_user_id"] for a in audit[:2]} == {str(hotel.admin.user_id)}
    assert audit[0]["old_values"]["check_in_time"] == "15:00:00"
    assert audit[0]["new_values"]["check_in_time"] == "14:00:00"
    async with uow_factory.sessionmaker() as session:
        count = await session.scalar(
            text(
                "SELECT count(*) FROM config_audit"
                " WHERE resource = 'property' AND action = 'create' AND resource_id = :id"
            ),
            {"id": prop.json()["id"]},
        )
    assert count == 0  # the app role without a tenant sees no audit row (row-level security)
