"""Staff's hand on the schedule through the API: see it rendered, edit, cancel, send now; a
template naming an unknown field is refused when saved."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel
from tests.scheduling.conftest import MakeReservation, MakeRules, changed
from workers.consumers import planner


async def test_schedule_edit_cancel_and_send_now(
    api: httpx.AsyncClient,
    hotel: Hotel,
    uow_factory: UnitOfWorkFactory,
    make_rules: MakeRules,
    make_reservation: MakeReservation,
) -> None:
    rules = await make_rules(tenant=hotel.tenant)
    stay = await make_reservation(hotel.tenant, check_in=date(2030, 6, 10))
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        await planner.handle(
            changed(hotel.tenant, stay), uow, clock=lambda: datetime(2030, 1, 1, tzinfo=UTC)
        )
        await uow.commit()
    headers = hotel.admin.headers
    schedule = await api.get(f"/api/v1/reservations/{stay}/schedule", headers=headers)
    assert schedule.status_code == 200, schedule.text
    by_rule = {item["rule_key"]: item for item in schedule.json()}
    assert by_rule["T_MINUS_1"]["text"] == "Hi Anna, tomorrow at Main from 15:00."
    assert by_rule["T_MINUS_1"]["channel"] == rules.tenant.provider.value

    t1 = by_rule["T_MINUS_1"]["id"]
    bad = await api.patch(
        f"/api/v1/scheduled-messages/{t1}", json={"text": "{{ guest.passport }}"}, headers=headers
    )
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["text"]
    late = await api.patch(
        f"/api/v1/scheduled-messages/{t1}",
        json={"due_at": "2030-06-12T12:00:00+00:00"},
        headers=headers,
    )
    assert late.status_code == 422
    edited = await api.patch(
        f"/api/v1/scheduled-messages/{t1}",
        json={"text": "Dear {{ guest.full_name }}, your room {{ reservation.room }} awaits."},
        headers=headers,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["edited_by_staff"] is True
    assert edited.json()["text"] == "Dear Anna Schmidt, your room  awaits."

    t3 = by_rule["T_MINUS_3"]["id"]
    cancelled = await api.post(f"/api/v1/scheduled-messages/{t3}/cancel", headers=headers)
    assert cancelled.json()["status"] == "cancelled"
    again = await api.post(f"/api/v1/scheduled-messages/{t3}/cancel", headers=headers)
    assert again.status_code == 409

    # Green API outside 24 hours without an approved template: staff see why it did not go.
    sent = await api.post(f"/api/v1/scheduled-messages/{t1}/send-now", headers=headers)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "skipped"
    assert "WhatsApp 24-hour window" in sent.json()["reason"]


async def test_a_template_naming_an_unknown_field_is_refused_when_saved(
    api: httpx.AsyncClient, hotel: Hotel, make_rules: MakeRules
) -> None:
    rules = await make_rules(tenant=hotel.tenant, rules=("DAY_OF",))
    url = f"/api/v1/templates/{rules.templates['DAY_OF']}"
    refused = await api.put(
        url, json={"body": "Hi {{ guest.nickname }}"}, headers=hotel.admin.headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "body"
    assert "guest.nickname" in refused.json()["errors"][0]["message"]
    broken = await api.put(url, json={"body": "Hi {{ guest.name "}, headers=hotel.admin.headers)
    assert broken.status_code == 422
    saved = await api.put(
        url, json={"body": "Hi {{ guest.first_name }}!"}, headers=hotel.admin.headers
    )
    assert saved.status_code == 200, saved.text
    assert (saved.json()["body"], saved.json()["version"]) == ("Hi {{ guest.first_name }}!", 2)
