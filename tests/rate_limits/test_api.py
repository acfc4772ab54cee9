"""The limits over the management API: the flood limit in the AI settings, and each channel's
send limit (read-only in the channel, its own rate set with ``PUT .../send-limit``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import select

from domain.events import Provider
from persistence.models import ConfigAudit
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff
from tests.conftest import MakeTenant


async def audit_rows(
    uow_factory: UnitOfWorkFactory, tenant_id: UUID, action: str
) -> list[tuple[Any, Any]]:
    async with uow_factory(tenant_id) as uow:
        rows = await uow.session.execute(
            select(ConfigAudit.old_values, ConfigAudit.new_values)
            .where(ConfigAudit.tenant_id == tenant_id, ConfigAudit.action == action)
            .order_by(ConfigAudit.created_at)
        )
        return [(old, new) for old, new in rows]


async def test_the_flood_limit_is_an_ai_setting(api: httpx.AsyncClient, hotel: Hotel) -> None:
    read = await api.get("/api/v1/ai/settings", headers=hotel.admin.headers)
    assert read.json()["inbound_messages_per_minute"] == 20  # a new tenant's default
    values = {key: value for key, value in read.json().items() if key != "updated_at"}

    changed = await api.put(
        "/api/v1/ai/settings",
        json={**values, "inbound_messages_per_minute": 6},
        headers={**hotel.admin.headers, "If-Match": read.headers["etag"]},
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["inbound_messages_per_minute"] == 6
    again = await api.get("/api/v1/ai/settings", headers=hotel.admin.headers)
    assert again.json()["inbound_messages_per_minute"] == 6


async def test_a_flood_limit_out_of_range_is_422_naming_it_and_writes_nothing(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    read = await api.get("/api/v1/ai/settings", headers=hotel.admin.headers)
    values = {key: value for key, value in read.json().items() if key != "updated_at"}
    for bad in (0, 1001, -5, "many", None, 2.5):
        response = await api.put(
            "/api/v1/ai/settings",
            json={**values, "inbound_messages_per_minute": bad},
            headers={**hotel.admin.headers, "If-Match": read.headers["etag"]},
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        fields = {error["field"] for error in response.json()["errors"]}
        assert "inbound_messages_per_minute" in fields
    after = await api.get("/api/v1/ai/settings", headers=hotel.admin.headers)
    assert after.headers["etag"] == read.headers["etag"]


async def test_a_channel_shows_its_providers_send_limit_and_takes_its_own_rate(
    api: httpx.AsyncClient,
    make_tenant: MakeTenant,
    make_staff: MakeStaff,
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant = await make_tenant(provider=Provider.TELEGRAM, address="@limits_bot")
    admin = await make_staff(tenant.tenant_id, roles=("admin",))
    path = f"/api/v1/channels/{tenant.channel_id}"

    shown = await api.get(path, headers=admin.headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["send_limit"] == {
        "per_second": 30.0,
        "burst": 30,
        "per_chat_per_second": 1.0,
        "source": "provider",
    }

    own = await api.put(f"{path}/send-limit", json={"sends_per_second": 2.5}, headers=admin.headers)
    assert own.status_code == 200, own.text
    assert own.json()["send_limit"] == {
        "per_second": 2.5,
        "burst": 2,
        "per_chat_per_second": 1.0,  # Telegram's limit per chat stays
        "source": "channel",
    }
    assert (await api.get(path, headers=admin.headers)).json()["send_limit"]["per_second"] == 2.5

    back = await api.put(f"{path}/send-limit", json={}, headers=admin.headers)
    assert back.json()["send_limit"]["source"] == "provider"
    assert await audit_rows(uow_factory, tenant.tenant_id, "set_send_limit") == [
        ({"sends_per_second": None}, {"sends_per_second": "2.500"}),
        ({"sends_per_second": "2.500"}, {"sends_per_second": None}),
    ]


async def test_a_bad_send_rate_is_422_naming_it_and_writes_nothing(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    path = f"/api/v1/channels/{hotel.tenant.channel_id}"
    for bad in (0, -1, 1000.5, 0.0001, "fast", [1]):
        response = await api.put(
            f"{path}/send-limit", json={"sends_per_second": bad}, headers=hotel.admin.headers
        )
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert "sends_per_second" in {e["field"] for e in response.json()["errors"]}
    unknown = await api.put(f"{path}/send-limit", json={"rate": 3}, headers=hotel.admin.headers)
    assert unknown.status_code == 422
    channel = (await api.get(path, headers=hotel.admin.headers)).json()
    assert channel["send_limit"] == {  # Green API queues sends itself
        "per_second": None,
        "burst": None,
        "per_chat_per_second": None,
        "source": "provider",
    }


async def test_agents_cannot_change_a_send_rate(
    api: httpx.AsyncClient, hotel: Hotel, make_staff: MakeStaff
) -> None:
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))
    response = await api.put(
        f"/api/v1/channels/{hotel.tenant.channel_id}/send-limit",
        json={"sends_per_second": 5},
        headers=agent.headers,
    )
    assert response.status_code == 403
