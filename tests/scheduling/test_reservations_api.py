"""PUT /api/v1/reservations/{external_ref}: an idempotent upsert by the PMS's id, the guest
matched or created, one reservation.changed per change, and bad input refused with a 422
naming the field and nothing written."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from sqlalchemy import func, select

from persistence.models import Guest, GuestIdentity, OutboxRow, Reservation
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import CLI, Hotel
from workers.api.commands.api_keys import create_api_key


def body(hotel: Hotel, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "property_id": str(hotel.tenant.property_id),
        "guest_name": "Anna Schmidt",
        "phone": "+49 151 23456789",
        "email": "Anna@Example.com",
        "language": "de",
        "check_in": "2026-07-10",
        "check_out": "2026-07-12",
        "check_in_time": "18:30",
        "room": "204",
    }
    values.update(changes)
    return values


async def _changes(uow_factory: UnitOfWorkFactory, hotel: Hotel) -> list[dict[str, Any]]:
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        rows = await uow.session.execute(
            select(OutboxRow.payload)
            .where(OutboxRow.event_type == "reservation.changed")
            .order_by(OutboxRow.created_at)
        )
        return [row[0] for row in rows]


async def test_put_creates_then_updates_the_same_stay_and_emits_one_change_each(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    url = f"/api/v1/reservations/PMS-{uuid4().hex[:6]}"
    created = await api.put(url, json=body(hotel), headers=hotel.admin.headers)
    assert created.status_code == 201, created.text
    stay = created.json()
    assert stay["guest"]["phone"] == "+4915123456789"
    assert stay["guest"]["email"] == "anna@example.com"
    assert stay["check_in_time"] == "18:30:00"
    assert stay["room"] == "204"

    again = await api.put(url, json=body(hotel), headers=hotel.admin.headers)
    assert again.status_code == 200
    assert again.json()["id"] == stay["id"]
    moved = await api.put(
        url,
        json=body(hotel, check_in="2026-07-11", check_out="2026-07-13"),
        headers=hotel.admin.headers,
    )
    assert moved.json()["check_in"] == "2026-07-11"

    events = await _changes(uow_factory, hotel)
    assert [(e["reservation_id"], e["created"]) for e in events] == [
        (stay["id"], True),
        (stay["id"], False),
    ]
    fetched = await api.get(f"/api/v1/reservations/{stay['id']}", headers=hotel.admin.headers)
    assert fetched.status_code == 200
    assert fetched.json()["check_in"] == "2026-07-11"


async def test_the_guest_is_matched_by_phone_and_linked_to_the_channel(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    first = await api.put(
        f"/api/v1/reservations/A-{uuid4().hex[:6]}", json=body(hotel), headers=hotel.admin.headers
    )
    second = await api.put(
        f"/api/v1/reservations/B-{uuid4().hex[:6]}",
        json=body(
            hotel, email=None, phone="+4915123456789", check_in="2026-08-01", check_out="2026-08-03"
        ),
        headers=hotel.admin.headers,
    )
    assert first.json()["guest"]["id"] == second.json()["guest"]["id"]
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        identities = (
            await uow.session.execute(
                select(GuestIdentity.kind, GuestIdentity.handle).where(
                    GuestIdentity.guest_id == first.json()["guest"]["id"]
                )
            )
        ).all()
        guests = await uow.session.scalar(select(func.count()).select_from(Guest))
    assert set(identities) == {(hotel.tenant.provider.value, "+4915123456789")}
    assert guests == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"check_in": "2026-07-12", "check_out": "2026-07-10"}, "check_out"),
        ({"property_id": str(uuid4())}, "property_id"),
        ({"phone": "12"}, "phone"),
        ({"phone": None, "email": None}, "phone"),
        ({"status": "maybe"}, "status"),
        ({"check_in": "soon"}, "check_in"),
        ({"language": "Deutsch"}, "language"),
        ({"booked_at": "2026-01-01T10:00:00"}, "booked_at"),
        ({"party_size": 0}, "party_size"),
    ],
)
async def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    api: httpx.AsyncClient,
    hotel: Hotel,
    uow_factory: UnitOfWorkFactory,
    changes: dict[str, Any],
    field: str,
) -> None:
    response = await api.put(
        f"/api/v1/reservations/BAD-{uuid4().hex[:6]}",
        json=body(hotel, **changes),
        headers=hotel.admin.headers,
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {error["field"] for error in response.json()["errors"]}
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        count = await uow.session.scalar(select(func.count()).select_from(Reservation))
        guests = await uow.session.scalar(select(func.count()).select_from(Guest))
    assert (count, guests) == (0, 0)
    assert await _changes(uow_factory, hotel) == []


async def test_an_api_key_with_reservations_write_may_put(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        issued = await create_api_key(
            uow, actor=CLI, name="pms", permissions=["reservations.write"], grantable=None
        )
        await uow.commit()
    headers = {"Authorization": f"Bearer {issued.key}"}
    response = await api.put(
        f"/api/v1/reservations/K-{uuid4().hex[:6]}", json=body(hotel), headers=headers
    )
    assert response.status_code == 201, response.text
