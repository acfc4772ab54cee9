"""Staff structure and messaging configuration through the API: every change audited, bad
input a 422 naming the field with nothing written, secrets never returned."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import Hotel, MakeStaff

API = "/api/v1"


async def audit_rows(api: httpx.AsyncClient, hotel: Hotel, resource: str) -> list[dict[str, Any]]:
    response = await api.get(
        f"{API}/audit", params={"resource": resource}, headers=hotel.admin.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json())


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return str(response.json()["errors"][0]["field"])


async def test_teams_members_and_skills(
    api: httpx.AsyncClient, hotel: Hotel, make_staff: MakeStaff
) -> None:
    headers = hotel.admin.headers
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))
    team = await api.post(f"{API}/teams", json={"name": "Concierge"}, headers=headers)
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    twin = await api.post(f"{API}/teams", json={"name": "Concierge"}, headers=headers)
    assert twin.status_code == 409

    lead = await api.put(
        f"{API}/teams/{team_id}/members/{agent.user_id}",
        json={"member_role": "lead"},
        headers=headers,
    )
    assert lead.status_code == 200, lead.text
    assert lead.json()["members"] == [{"user_id": str(agent.user_id), "member_role": "lead"}]
    bad_role = await api.put(
        f"{API}/teams/{team_id}/members/{agent.user_id}",
        json={"member_role": "boss"},
        headers=headers,
    )
    assert field_of(bad_role) == "member_role"

    skills = await api.put(
        f"{API}/users/{agent.user_id}/skills",
        json={"skills": [{"skill": "lang:es", "level": 5}, {"skill": "Spa"}]},
        headers=headers,
    )
    assert skills.status_code == 200, skills.text
    assert skills.json() == [{"skill": "lang:es", "level": 5}, {"skill": "spa", "level": 3}]
    twice = await api.put(
        f"{API}/users/{agent.user_id}/skills",
        json={"skills": [{"skill": "spa"}, {"skill": "spa", "level": 2}]},
        headers=headers,
    )
    assert field_of(twice) == "skills.1.skill"
    too_high = await api.put(
        f"{API}/users/{agent.user_id}/skills",
        json={"skills": [{"skill": "spa", "level": 6}]},
        headers=headers,
    )
    assert field_of(too_high) == "skills.0.level"
    kept = await api.get(f"{API}/users/{agent.user_id}/skills", headers=headers)
    assert len(kept.json()) == 2  # the refused replacements wrote nothing

    removed = await api.delete(f"{API}/teams/{team_id}/members/{agent.user_id}", headers=headers)
    assert removed.json()["members"] == []
    assert (await api.delete(f"{API}/teams/{team_id}", headers=headers)).status_code == 204
    assert (await api.get(f"{API}/teams/{team_id}", headers=headers)).status_code == 404

    actions = [row["action"] for row in await audit_rows(api, hotel, "team_membership")]
    assert sorted(actions) == ["delete", "put"]
    assert [row["action"] for row in await audit_rows(api, hotel, "team")] == ["delete", "create"]
    (replaced,) = await audit_rows(api, hotel, "agent_skills")
    assert replaced["new_values"] == {"skills": {"lang:es": 5, "spa": 3}}


async def test_business_hours_replace_the_week_and_refuse_a_day_that_ends_before_it_starts(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers = hotel.admin.headers
    url = f"{API}/properties/{hotel.tenant.property_id}/business-hours"
    week = {
        "days": [
            {"weekday": 2, "opens_at": "09:00", "closes_at": "18:00"},
            {"weekday": 1, "opens_at": "08:00", "closes_at": "20:00"},
        ]
    }
    put = await api.put(url, json=week, headers=headers)
    assert put.status_code == 200, put.text
    assert [day["weekday"] for day in put.json()] == [1, 2]

    backwards = {"days": [{"weekday": 3, "opens_at": "22:00", "closes_at": "06:00"}]}
    assert field_of(await api.put(url, json=backwards, headers=headers)) == "days.0.closes_at"
    # A day may have several shifts (split shifts), but no two may overlap.
    twice = {"days": [week["days"][0], week["days"][0]]}
    assert field_of(await api.put(url, json=twice, headers=headers)) == "days.1.opens_at"
    bad_day = {"days": [{"weekday": 8, "opens_at": "08:00", "closes_at": "09:00"}]}
    assert field_of(await api.put(url, json=bad_day, headers=headers)) == "days.0.weekday"
    unchanged = await api.get(url, headers=headers)
    assert unchanged.json() == put.json()
    (audited,) = await audit_rows(api, hotel, "business_hours")
    assert audited["old_values"] == {"days": []}
    assert len(audited["new_values"]["days"]) == 2


async def test_templates_whatsapp_templates_and_canned_responses(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers = hotel.admin.headers
    template = await api.post(
        f"{API}/templates",
        json={
            "channel": "telegram",
            "rule_key": "custom:late-arrival",
            "language": "es",
            "body": "Hola {{ guest.first_name }}",
        },
        headers=headers,
    )
    assert template.status_code == 201, template.text
    unknown_field = await api.post(
        f"{API}/templates",
        json={"channel": "telegram", "rule_key": "T_MINUS_1", "body": "{{ guest.password }}"},
        headers=headers,
    )
    assert field_of(unknown_field) == "body"
    twin = await api.post(
        f"{API}/templates",
        json={
            "channel": "telegram",
            "rule_key": "custom:late-arrival",
            "language": "es",
            "body": "Otra",
        },
        headers=headers,
    )
    assert twin.status_code == 409, twin.text
    listed = await api.get(f"{API}/templates", headers=headers)
    assert [row["rule_key"] for row in listed.json()] == ["custom:late-arrival"]
    gone = await api.delete(f"{API}/templates/{template.json()['id']}", headers=headers)
    assert gone.status_code == 204
    assert (await api.get(f"{API}/templates", headers=headers)).json() == []

    # A WhatsApp template belongs to a WhatsApp Cloud channel, not to the hotel's Telegram bot.
    refused = await api.post(
        f"{API}/whatsapp-templates",
        json={
            "channel_id": str(hotel.tenant.channel_id),
            "name": "arrival_day",
            "language": "en_US",
            "category": "utility",
            "body": "Welcome {{1}}",
        },
        headers=headers,
    )
    if hotel.tenant.provider.value != "whatsapp_cloud":
        assert field_of(refused) == "channel_id"

    canned = await api.post(
        f"{API}/canned-responses",
        json={"shortcut": "/wifi", "title": "Wi-Fi", "body": "Network AURORA, code 1234"},
        headers=headers,
    )
    assert canned.status_code == 201, canned.text
    assert canned.json()["created_by"] == str(hotel.admin.user_id)
    taken = await api.post(
        f"{API}/canned-responses",
        json={"shortcut": "/wifi", "title": "Again", "body": "x"},
        headers=headers,
    )
    assert taken.status_code == 409
    bad = await api.post(
        f"{API}/canned-responses",
        json={"shortcut": "wifi now", "title": "x", "body": "x"},
        headers=headers,
    )
    assert field_of(bad) == "shortcut"
    renamed = await api.patch(
        f"{API}/canned-responses/{canned.json()['id']}",
        json={"title": "Wi-Fi code"},
        headers=headers,
    )
    assert renamed.json()["title"] == "Wi-Fi code"
    null_body = await api.patch(
        f"{API}/canned-responses/{canned.json()['id']}", json={"body": None}, headers=headers
    )
    assert field_of(null_body) == "body"
    actions = [row["action"] for row in await audit_rows(api, hotel, "canned_response")]
    assert actions == ["update", "create"]


async def test_alert_targets_and_integrations_keep_their_secrets(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers = hotel.admin.headers
    hook = "https://hooks.slack.example/services/T000/B000/secret-slack-token-abc"
    target = await api.post(
        f"{API}/alert-targets",
        json={"name": "Night manager", "kind": "webhook", "webhook_url": hook},
        headers=headers,
    )
    assert target.status_code == 201, target.text
    assert hook not in target.text
    assert target.json()["webhook_url_hint"] == "…-abc"
    missing = await api.post(
        f"{API}/alert-targets", json={"name": "x", "kind": "channel"}, headers=headers
    )
    assert missing.status_code == 422
    not_https = await api.post(
        f"{API}/alert-targets",
        json={"name": "x", "kind": "webhook", "webhook_url": "http://plain.example/hook"},
        headers=headers,
    )
    assert field_of(not_https) == "webhook_url"
    rotated = await api.patch(
        f"{API}/alert-targets/{target.json()['id']}",
        json={"webhook_url": hook + "-v2", "urgent_only": True},
        headers=headers,
    )
    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["webhook_url_hint"] == "…c-v2"

    integration = await api.post(
        f"{API}/integrations",
        json={
            "integration_type": "iiko",
            "base_url": "https://api-ru.iiko.services",
            "credentials": {"api_login": "iiko-api-login-0123456789abcdef"},
            "settings": {"organization": "aurora"},
        },
        headers=headers,
    )
    assert integration.status_code == 201, integration.text
    assert "iiko-api-login-0123456789abcdef" not in integration.text
    assert integration.json()["credentials_hint"] == {"api_login": "…cdef"}
    assert integration.json()["connection_status"] == "unknown"
    twin = await api.post(
        f"{API}/integrations",
        json={"integration_type": "iiko", "credentials": {"api_login": "x"}},
        headers=headers,
    )
    assert twin.status_code == 409
    disabled = await api.patch(
        f"{API}/integrations/{integration.json()['id']}",
        json={"enabled": False, "credentials": {"api_login": "iiko-new-login-0123456789abcdef"}},
        headers=headers,
    )
    assert disabled.json()["connection_status"] == "disabled"
    assert disabled.json()["credentials_hint"] == {"api_login": "…cdef"}

    integration_url = f"{API}/integrations/{integration.json()['id']}"
    assert (await api.delete(integration_url, headers=headers)).status_code == 204
    assert (await api.get(integration_url, headers=headers)).status_code == 404

    trail = await audit_rows(api, hotel, "staff_alert_target") + await audit_rows(
        api, hotel, "integration"
    )
    assert [row["action"] for row in trail] == ["update", "create", "delete", "update", "create"]
    text = str(trail)
    for secret in (hook, "secret-slack-token", "iiko-api-login", "iiko-new-login"):
        assert secret not in text
