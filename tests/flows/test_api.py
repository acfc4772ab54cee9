"""The scenarios API: drafts, publishing refused with every problem and its path, the JSON
Schema, and a conversation's dialogue as staff see it."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema

from domain.flows import json_schema
from persistence.demo.flows import TABLE_BOOKING
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff

SCHEMA_FILE = Path(__file__).parents[2] / "domain" / "flows" / "flow.schema.json"


def test_the_schema_file_in_the_repository_is_the_models() -> None:
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema()
    jsonschema.Draft202012Validator.check_schema(json_schema())
    jsonschema.validate(TABLE_BOOKING, json_schema())


async def create(api: httpx.AsyncClient, hotel: Hotel, name: str = "table_booking") -> str:
    response = await api.post(
        "/api/v1/flows/scenarios",
        json={"name": name, "description": "Tables"},
        headers=hotel.admin.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_broken_flow_is_refused_at_publishing_with_every_problem_and_its_path(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    scenario = await create(api, hotel)
    broken: dict[str, Any] = copy.deepcopy(TABLE_BOOKING)
    steps = broken["steps"]
    steps[0]["next"] = "nowhere"  # dangling, and ask_when ... becomes unreachable
    del steps[5]["default"]  # a branch without default
    steps.append({"id": "orphan", "type": "message", "text": "Hi {nickname}", "next": "booked"})
    draft = await api.post(
        f"/api/v1/flows/scenarios/{scenario}/versions",
        json={"flow": broken},
        headers=hotel.admin.headers,
    )
    assert draft.status_code == 201, draft.text
    assert draft.json()["status"] == "draft"
    refused = await api.post(
        f"/api/v1/flows/scenarios/{scenario}/versions/1/publish", headers=hotel.admin.headers
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    fields = {(e["field"], e["message"]) for e in refused.json()["errors"]}
    assert ("flow.steps[0].next", "no step has the id 'nowhere'") in fields
    assert ("flow.steps[5].default", "a branch needs a default step") in fields
    assert ("flow.steps[1]", "step 'ask_when' cannot be reached from start") in fields
    assert ("flow.steps[9].text", "variable 'nickname' may not be set here") in fields
    scenarios = (await api.get("/api/v1/flows/scenarios", headers=hotel.admin.headers)).json()
    assert [s["published_version"] for s in scenarios] == [None]


async def test_a_draft_that_is_not_a_flow_is_a_422_naming_the_path(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    scenario = await create(api, hotel)
    bad: dict[str, Any] = copy.deepcopy(TABLE_BOOKING)
    bad["steps"][2]["answer"]["maximum"] = "many"
    bad["steps"][3]["type"] = "dance"
    response = await api.post(
        f"/api/v1/flows/scenarios/{scenario}/versions", json={"flow": bad},
        headers=hotel.admin.headers,
    )  # fmt: skip
    assert response.status_code == 422
    fields = [e["field"] for e in response.json()["errors"]]
    assert "flow.steps[2].answer.maximum" in fields
    assert "flow.steps[3]" in fields
    missing = await api.post(
        f"/api/v1/flows/scenarios/{scenario}/versions", json={}, headers=hotel.admin.headers
    )
    assert missing.status_code == 422


async def test_publishing_versions_and_the_schema_through_the_api(
    api: httpx.AsyncClient, hotel: Hotel, make_staff: MakeStaff
) -> None:
    scenario = await create(api, hotel)
    again = await api.post(
        "/api/v1/flows/scenarios", json={"name": "table_booking"}, headers=hotel.admin.headers
    )
    assert again.status_code == 409
    for _ in range(2):
        added = await api.post(
            f"/api/v1/flows/scenarios/{scenario}/versions",
            json={"flow": TABLE_BOOKING},
            headers=hotel.admin.headers,
        )
        assert added.status_code == 201
    published = await api.post(
        f"/api/v1/flows/scenarios/{scenario}/versions/2/publish", headers=hotel.admin.headers
    )
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    one = (await api.get(f"/api/v1/flows/scenarios/{scenario}", headers=hotel.admin.headers)).json()
    assert (one["published_version"], one["active"], one["version"]) == (2, True, 2)
    schema = await api.get("/api/v1/flows/schema", headers=hotel.admin.headers)
    assert schema.json() == json_schema()
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))
    assert (await api.get("/api/v1/flows/scenarios", headers=agent.headers)).status_code == 403
    off = await api.patch(
        f"/api/v1/flows/scenarios/{scenario}", json={"active": False}, headers=hotel.admin.headers
    )
    assert off.json()["active"] is False


async def test_staff_see_a_conversations_dialogue_and_can_end_it(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    tenant = hotel.tenant
    async with uow_factory(tenant.tenant_id) as uow:
        from persistence.flows import install

        published = await install(
            uow, name="table_booking", flow=TABLE_BOOKING, at=datetime.now(UTC)
        )
        guest = await uow.guests.upsert_by_identity(kind="telegram", handle="dialog-guest")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=datetime.now(UTC)
        )
        state = await uow.flows.lock_dialog(conversation_id=conversation.id)
        state.status, state.current_step = "active", "ask_party"
        state.scenario_id, state.version_id = published.scenario.id, published.version.id
        state.collected = {"when": "2030-01-01 20:00"}
        await uow.commit()
    url = f"/api/v1/conversations/{conversation.id}/dialog"
    seen = (await api.get(url, headers=hotel.admin.headers)).json()
    assert (seen["status"], seen["scenario"], seen["version"], seen["step"]) == (
        "active", "table_booking", 1, "ask_party"
    )  # fmt: skip
    assert seen["collected"] == {"when": "2030-01-01 20:00"}
    ended = await api.post(f"{url}/end", headers=hotel.admin.headers)
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["ended_reason"]) == ("cancelled", "ended_by_staff")
