"""The assistant profile through the API: read by staff, changed by those who manage the AI
settings, audited, and refused with the field named when a value is not one it can hold."""

from __future__ import annotations

import httpx
import pytest

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel


@pytest.fixture(autouse=True)
async def profile(hotel: Hotel, uow_factory: UnitOfWorkFactory) -> None:
    """The profile ``frontdesk tenant create`` gives every tenant."""
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        await uow.assistant_profiles.add(
            assistant_name="Aurora", timezone="Europe/Madrid", vertical="hotel"
        )
        await uow.commit()


async def test_an_admin_renames_the_assistant_and_the_change_is_audited(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    read = await api.get("/api/v1/assistant", headers=hotel.admin.headers)
    assert read.status_code == 200, read.text
    before = read.json()
    changed = await api.patch(
        "/api/v1/assistant",
        json={"assistant_name": "Lumi", "greeting": "Hi, I'm Lumi!", "timezone": "Europe/Lisbon"},
        headers=hotel.admin.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json() == {
        **before,
        "assistant_name": "Lumi",
        "greeting": "Hi, I'm Lumi!",
        "timezone": "Europe/Lisbon",
    }
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        profile = await uow.assistant_profiles.get()
        assert profile is not None
        assert (profile.assistant_name, profile.timezone) == ("Lumi", "Europe/Lisbon")
    audit = await api.get("/api/v1/audit", headers=hotel.admin.headers)
    [row] = [r for r in audit.json() if r["resource"] == "assistant_profile"]
    assert row["old_values"]["assistant_name"] == before["assistant_name"]
    assert row["new_values"]["assistant_name"] == "Lumi"
    cleared = await api.patch(
        "/api/v1/assistant", json={"greeting": None}, headers=hotel.admin.headers
    )
    assert cleared.json()["greeting"] is None
    assert cleared.json()["assistant_name"] == "Lumi"


async def test_values_it_cannot_hold_are_422_naming_the_field_and_change_nothing(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    before = (await api.get("/api/v1/assistant", headers=hotel.admin.headers)).json()
    for field, bad in (
        ("timezone", "Mars/Olympus_Mons"),
        ("vertical", "casino"),
        ("assistant_name", "   "),
        ("assistant_name", None),
    ):
        response = await api.patch(
            "/api/v1/assistant", json={field: bad}, headers=hotel.admin.headers
        )
        assert response.status_code == 422, (field, response.text)
        assert field in {error["field"] for error in response.json()["errors"]}
    after = (await api.get("/api/v1/assistant", headers=hotel.admin.headers)).json()
    assert after == before
