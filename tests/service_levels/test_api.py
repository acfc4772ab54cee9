"""The service-level routes: SLA policies, holidays, a property's and a team's shifts, and a
conversation's deadlines in its detail; bad input is a 422 naming the field, with nothing
written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff
from tests.service_levels.conftest import Desk, local

API = "/api/v1"


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["errors"][0]["field"])


async def audit_actions(api: httpx.AsyncClient, hotel: Hotel, resource: str) -> list[str]:
    response = await api.get(
        f"{API}/audit", params={"resource": resource}, headers=hotel.admin.headers
    )
    assert response.status_code == 200, response.text
    return sorted(row["action"] for row in response.json())


async def test_policies_are_created_listed_changed_and_deleted(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers, url = hotel.admin.headers, f"{API}/sla-policies"
    body: dict[str, Any] = {
        "name": "VIP",
        "first_response_minutes": 10,
        "next_response_minutes": 20,
        "resolution_minutes": 240,
        "clock": "business_hours",
        "priorities": ["high", "urgent"],
        "property_ids": [str(hotel.tenant.property_id)],
        "channel_ids": [str(hotel.tenant.channel_id)],
        "position": 10,
        "bot_reply_counts": True,
    }
    created = await api.post(url, json=body, headers=headers)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert (policy["warning_percent"], policy["active"], policy["team_ids"]) == (80, True, [])
    plain = await api.post(
        url, json={"name": "Everyone", "first_response_minutes": 60}, headers=headers
    )
    assert plain.status_code == 201, plain.text
    listed = await api.get(url, headers=headers)
    assert [row["name"] for row in listed.json()] == ["VIP", "Everyone"]

    changed = await api.patch(
        f"{url}/{policy['id']}",
        json={"resolution_minutes": None, "warning_percent": None, "priorities": ["urgent"]},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["resolution_minutes"], changed.json()["warning_percent"]) == (None, None)
    assert changed.json()["priorities"] == ["urgent"]
    twin = await api.post(url, json={**body, "position": 1}, headers=headers)
    assert twin.status_code == 409, twin.text

    gone = await api.delete(f"{url}/{policy['id']}", headers=headers)
    assert gone.status_code == 204, gone.text
    assert (await api.get(f"{url}/{policy['id']}", headers=headers)).status_code == 404
    assert await audit_actions(api, hotel, "sla_policy") == ["create", "create", "delete", "update"]


async def test_bad_policies_are_refused_naming_the_field_and_nothing_is_written(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers, url = hotel.admin.headers, f"{API}/sla-policies"
    good = {"name": "Standard", "first_response_minutes": 30}
    cases = [
        ({**good, "first_response_minutes": 0}, "first_response_minutes"),
        ({**good, "first_response_minutes": -5}, "first_response_minutes"),
        ({**good, "next_response_minutes": 0}, "next_response_minutes"),
        ({**good, "resolution_minutes": -1}, "resolution_minutes"),
        ({**good, "warning_percent": 100}, "warning_percent"),
        ({**good, "clock": "lunar"}, "clock"),
        ({**good, "priorities": ["whenever"]}, "priorities.0"),
        ({**good, "team_ids": [str(uuid4())]}, "team_ids.0"),
        ({**good, "channel_ids": [str(hotel.tenant.channel_id), str(uuid4())]}, "channel_ids.1"),
    ]
    for body, field in cases:
        assert field_of(await api.post(url, json=body, headers=headers)) == field, body
    assert (await api.get(url, headers=headers)).json() == []
    created = await api.post(url, json=good, headers=headers)
    assert created.status_code == 201, created.text
    policy_url = f"{url}/{created.json()['id']}"
    refused = await api.patch(policy_url, json={"first_response_minutes": 0}, headers=headers)
    assert field_of(refused) == "first_response_minutes"
    refused = await api.patch(policy_url, json={"first_response_minutes": None}, headers=headers)
    assert field_of(refused) == "first_response_minutes"
    assert (await api.get(policy_url, headers=headers)).json()["first_response_minutes"] == 30


async def test_shifts_split_overnight_and_a_teams_own_and_a_shift_ending_when_it_starts(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers = hotel.admin.headers
    url = f"{API}/properties/{hotel.tenant.property_id}/business-hours"
    week = {
        "days": [
            {"weekday": 1, "opens_at": "14:00", "closes_at": "18:00"},
            {"weekday": 1, "opens_at": "08:00", "closes_at": "12:00"},
            {"weekday": 5, "opens_at": "22:00", "closes_at": "06:00", "overnight": True},
            {"weekday": 7, "opens_at": "00:00", "closes_at": "00:00", "overnight": True},
        ]
    }
    put = await api.put(url, json=week, headers=headers)
    assert put.status_code == 200, put.text
    assert [(d["weekday"], d["opens_at"], d["overnight"]) for d in put.json()] == [
        (1, "08:00:00", False),
        (1, "14:00:00", False),
        (5, "22:00:00", True),
        (7, "00:00:00", True),
    ]
    same = {"days": [{"weekday": 2, "opens_at": "09:00", "closes_at": "09:00"}]}
    refused = await api.put(url, json=same, headers=headers)
    assert field_of(refused) == "days.0.closes_at"
    assert "overnight" in refused.json()["detail"]
    backwards = {"days": [{"weekday": 2, "opens_at": "22:00", "closes_at": "06:00"}]}
    assert field_of(await api.put(url, json=backwards, headers=headers)) == "days.0.closes_at"
    overlapping = {
        "days": [
            {"weekday": 5, "opens_at": "22:00", "closes_at": "06:00", "overnight": True},
            {"weekday": 6, "opens_at": "05:00", "closes_at": "09:00"},
        ]
    }
    assert field_of(await api.put(url, json=overlapping, headers=headers)) == "days.1.opens_at"
    offset = {"days": [{"weekday": 2, "opens_at": "09:00+02:00", "closes_at": "17:00"}]}
    assert field_of(await api.put(url, json=offset, headers=headers)) == "days.0.opens_at"
    assert (await api.get(url, headers=headers)).json() == put.json()

    team = await api.post(f"{API}/teams", json={"name": "Night desk"}, headers=headers)
    team_url = f"{API}/teams/{team.json()['id']}/business-hours"
    nights = {
        "days": [{"weekday": 1, "opens_at": "20:00", "closes_at": "08:00", "overnight": True}]
    }
    put_team = await api.put(team_url, json=nights, headers=headers)
    assert put_team.status_code == 200, put_team.text
    assert (await api.get(team_url, headers=headers)).json() == put_team.json()
    assert len((await api.get(url, headers=headers)).json()) == 4  # the property's stay


async def test_holidays_for_one_property_or_every_one(
    api: httpx.AsyncClient, hotel: Hotel, make_staff: MakeStaff
) -> None:
    headers, url = hotel.admin.headers, f"{API}/holidays"
    everywhere = await api.post(url, json={"day": "2030-12-25", "name": "Xmas"}, headers=headers)
    assert everywhere.status_code == 201, everywhere.text
    here = {"day": "2030-12-25", "name": "Xmas", "property_id": str(hotel.tenant.property_id)}
    assert (await api.post(url, json=here, headers=headers)).status_code == 201
    assert (await api.post(url, json=here, headers=headers)).status_code == 409
    stray = {**here, "property_id": str(uuid4())}
    assert field_of(await api.post(url, json=stray, headers=headers)) == "property_id"
    assert (
        field_of(await api.post(url, json={"day": "soon", "name": "x"}, headers=headers)) == "day"
    )
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))
    listed = await api.get(url, headers=agent.headers)
    assert len(listed.json()) == 2
    assert (await api.post(url, json=here, headers=agent.headers)).status_code == 403
    removed = await api.delete(f"{url}/{everywhere.json()['id']}", headers=headers)
    assert removed.status_code == 204
    assert [row["property_id"] for row in (await api.get(url, headers=headers)).json()] == [
        str(hotel.tenant.property_id)
    ]


async def test_the_conversation_shows_its_deadlines_and_a_used_policy_is_kept(
    api: httpx.AsyncClient, desk: Any, make_staff: MakeStaff, uow_factory: UnitOfWorkFactory
) -> None:
    hotel: Desk = await desk()
    conversation_id = await hotel.write("Is there a gym?", local(2030, 1, 7, 10))
    admin = await make_staff(hotel.tenant_id, roles=("admin",))
    detail = await api.get(f"{API}/conversations/{conversation_id}", headers=admin.headers)
    assert detail.status_code == 200, detail.text
    sla = detail.json()["sla"]
    assert sla["policy_id"] == str(hotel.policy_id)
    assert sla["clock"] == "calendar"
    assert sla["first_response"] == {
        "target_minutes": 60,
        "due_at": "2030-01-07T10:00:00Z",
        "warn_at": "2030-01-07T09:48:00Z",
        "paused_minutes_left": None,
        "warned": False,
        "breached": False,
    }
    assert sla["next_response"]["due_at"] is None

    policy_url = f"{API}/sla-policies/{hotel.policy_id}"
    edited = await api.patch(policy_url, json={"first_response_minutes": 5}, headers=admin.headers)
    assert edited.status_code == 200, edited.text
    again = await api.get(f"{API}/conversations/{conversation_id}", headers=admin.headers)
    assert again.json()["sla"]["first_response"]["target_minutes"] == 60
    assert (await api.delete(policy_url, headers=admin.headers)).status_code == 409
    assert (await api.get(policy_url, headers=admin.headers)).status_code == 200


async def test_deadlines_near_or_passed_within_the_callers_scope(
    api: httpx.AsyncClient, desk: Any, make_staff: MakeStaff
) -> None:
    hotel: Desk = await desk(warning_percent=None)
    now = datetime.now(UTC)
    late = await hotel.write("Hello?", now - timedelta(minutes=70))
    soon = await hotel.write("Hi", now - timedelta(minutes=10), guest="+34612000777")
    await hotel.write("Later", now + timedelta(days=2), guest="+34612000778")
    supervisor = await make_staff(hotel.tenant_id, roles=("supervisor",))
    found = await api.get(
        f"{API}/sla-deadlines", params={"within_minutes": 120}, headers=supervisor.headers
    )
    assert found.status_code == 200, found.text
    rows = [(row["conversation_id"], row["kind"]) for row in found.json()]
    assert rows[:2] == [(str(late), "first_response"), (str(soon), "first_response")]
    assert found.json()[0]["minutes_left"] in (-11, -10)
    assert 48 <= found.json()[1]["minutes_left"] <= 50
    assert len(rows) == 2  # the resolution targets are hours away
    agent = await make_staff(hotel.tenant_id, roles=("agent",))
    mine = await api.get(f"{API}/sla-deadlines", headers=agent.headers)
    assert mine.json() == []  # nothing assigned to them, and no team
    refused = await api.get(
        f"{API}/sla-deadlines", params={"within_minutes": -1}, headers=supervisor.headers
    )
    assert refused.status_code == 422
