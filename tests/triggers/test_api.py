"""Triggers through the management API: condition triggers created, read, switched off and
their firings listed; bad conditions refused with the path of each offending part and nothing
written; time-based triggers checked the same way."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import func, select

from domain.events import MessageScored, SentimentLabel
from persistence.models import ConfigAudit, OutboxRow, Trigger
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import MakeStaff
from tests.triggers.conftest import Hotel, MakeTalk
from workers.consumers import triggers

VIP_NEGATIVE: dict[str, Any] = {
    "event": "message.scored",
    "all": [
        {"field": "message.sentiment_label", "op": "eq", "value": "negative"},
        {"field": "reservation.tags", "op": "contains", "value": "VIP"},
    ],
    "actions": [{"type": "notify_staff", "detail": "An unhappy VIP", "urgent": True}],
}


async def count(uow_factory: UnitOfWorkFactory, hotel: Hotel, model: Any) -> int:
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        return int(
            (await uow.session.execute(select(func.count()).select_from(model))).scalar_one()
        )


async def test_a_condition_trigger_is_made_switched_off_and_shows_its_firings(
    api: httpx.AsyncClient,
    hotel: Hotel,
    uow_factory: UnitOfWorkFactory,
    make_talk: MakeTalk,
    make_staff: MakeStaff,
) -> None:
    headers = hotel.admin.headers
    made = await api.post(
        "/api/v1/triggers",
        json={"name": "Unhappy VIP", "conditions": VIP_NEGATIVE},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    trigger = made.json()
    assert (trigger["kind"], trigger["active"], trigger["template_id"]) == (
        "condition_based",
        True,
        None,
    )
    assert (await api.get(f"/api/v1/triggers/{trigger['id']}", headers=headers)).json() == trigger
    again = await api.post(
        "/api/v1/triggers",
        json={"name": "Unhappy VIP", "conditions": VIP_NEGATIVE},
        headers=headers,
    )
    assert again.status_code == 409

    talk = await make_talk(hotel.tenant, tags=["vip"])
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        event = MessageScored(
            tenant_id=hotel.tenant.tenant_id,
            message_id=talk.message_id,
            conversation_id=talk.conversation_id,
            sentiment_score=-0.9,
            sentiment_label=SentimentLabel.NEGATIVE,
            requires_attention=True,
        )
        await triggers.handle(event, uow)
        await uow.commit()
    firings = await api.get(f"/api/v1/triggers/{trigger['id']}/firings", headers=headers)
    assert firings.status_code == 200, firings.text
    [firing] = firings.json()
    assert (firing["subject"], firing["status"], firing["outcomes"][0]["status"]) == (
        f"message:{talk.message_id}",
        "fired",
        "done",
    )

    off = await api.patch(
        f"/api/v1/triggers/{trigger['id']}", json={"active": False}, headers=headers
    )
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        audit = (
            await uow.session.execute(
                select(ConfigAudit.action).where(ConfigAudit.resource == "trigger")
            )
        ).scalars()
        assert sorted(audit) == ["create", "update"]
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))
    assert (await api.get("/api/v1/triggers", headers=agent.headers)).status_code == 403


async def test_invalid_conditions_are_422_with_each_path_and_write_nothing(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    headers = hotel.admin.headers
    before = await count(uow_factory, hotel, Trigger)
    bad = {
        "event": "message.scored",
        "all": [
            {"field": "message.sentiment_label", "op": "gt", "value": "negative"},
            {"any": [{"field": "guest.vip", "op": "eq", "value": True}]},
        ],
        "actions": [{"type": "add_tag", "tag": "x", "to": "guest"}],
    }
    refused = await api.post(
        "/api/v1/triggers", json={"name": "broken", "conditions": bad}, headers=headers
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in refused.json()["errors"]] == [
        "conditions.all.0.op",
        "conditions.all.1.any.0.field",
        "conditions.actions.0.to",
    ]
    unknown_template = {
        **VIP_NEGATIVE,
        "actions": [{"type": "send_template", "template_id": str(uuid4())}],
    }
    refused = await api.post(
        "/api/v1/triggers", json={"name": "t", "conditions": unknown_template}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "conditions.actions"
    no_event = await api.post(
        "/api/v1/triggers", json={"name": "t", "conditions": {"all": []}}, headers=headers
    )
    assert [e["field"] for e in no_event.json()["errors"]] == ["conditions.event"]
    made = await api.post(
        "/api/v1/triggers", json={"name": "fine", "conditions": VIP_NEGATIVE}, headers=headers
    )
    assert made.status_code == 201
    patched = await api.patch(
        f"/api/v1/triggers/{made.json()['id']}",
        json={"conditions": {**VIP_NEGATIVE, "delay_minutes": 100_000}},
        headers=headers,
    )
    assert patched.status_code == 422
    assert patched.json()["errors"][0]["field"] == "conditions.delay_minutes"
    kept = await api.get(f"/api/v1/triggers/{made.json()['id']}", headers=headers)
    assert kept.json()["conditions"] == VIP_NEGATIVE
    assert await count(uow_factory, hotel, Trigger) == before + 1


async def test_time_based_triggers_are_checked_by_their_own_rules(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    headers = hotel.admin.headers
    template = await api.post(
        "/api/v1/templates",
        json={"channel": "green_api", "rule_key": "T_MINUS_1", "body": "See you tomorrow!"},
        headers=headers,
    )
    assert template.status_code == 201, template.text
    body = {"name": "pre-arrival", "kind": "time_based", "template_id": template.json()["id"]}
    bad = await api.post(
        "/api/v1/triggers", json={**body, "conditions": {"anchor": "lunch"}}, headers=headers
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "conditions.anchor"
    no_template = await api.post(
        "/api/v1/triggers",
        json={"name": "x", "kind": "time_based", "conditions": {}},
        headers=headers,
    )
    assert no_template.json()["errors"][0]["field"] == "template_id"
    made = await api.post(
        "/api/v1/triggers",
        json={**body, "conditions": {"offset_days": -1, "send_at": "10:00"}},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["template_id"] == template.json()["id"]


async def test_a_stay_takes_tags_from_the_pms_and_keeps_them_when_a_put_omits_them(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    headers = hotel.admin.headers
    body = {
        "property_id": str(hotel.tenant.property_id),
        "guest_name": "Vera Ip",
        "phone": "+4915112345678",
        "check_in": "2030-05-01",
        "check_out": "2030-05-04",
    }
    made = await api.put(
        "/api/v1/reservations/PMS-VIP-1",
        json={**body, "tags": ["VIP", " VIP", "late"]},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["tags"] == ["VIP", "late"]
    kept = await api.put("/api/v1/reservations/PMS-VIP-1", json=body, headers=headers)
    assert kept.json()["tags"] == ["VIP", "late"]
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        changes = await uow.session.execute(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.event_type == "reservation.changed")
        )
        before = changes.scalar_one()
    cleared = await api.put(
        "/api/v1/reservations/PMS-VIP-1", json={**body, "tags": []}, headers=headers
    )
    assert cleared.json()["tags"] == []
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        changes = await uow.session.execute(
            select(func.count())
            .select_from(OutboxRow)
            .where(OutboxRow.event_type == "reservation.changed")
        )
        assert changes.scalar_one() == before + 1  # a change of tags is a change of the stay
    too_long = await api.put(
        "/api/v1/reservations/PMS-VIP-1", json={**body, "tags": ["x" * 51]}, headers=headers
    )
    assert too_long.status_code == 422
    assert too_long.json()["errors"][0]["field"] == "tags.0"
