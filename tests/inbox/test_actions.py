"""Inbox actions over the API: each writes its rows, an audit row naming the staff member and a
``conversation.updated`` outbox event together; bad input is a 4xx naming the field, with
nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
from sqlalchemy import select

from domain.events import Provider
from persistence.models import CannedResponse, ConversationNote, Message, OutboxRow
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff
from tests.conftest import MakeTenant
from tests.inbox.conftest import MakeConversation, MakeTeam

API = "/api/v1/conversations"


async def rows(uow_factory: UnitOfWorkFactory, tenant_id: UUID, statement: Any) -> list[Any]:
    async with uow_factory(tenant_id) as uow:
        found = list((await uow.session.execute(statement)).scalars())
        uow.session.expunge_all()  # read as they are: the rollback must not expire them
        return found


async def events(
    uow_factory: UnitOfWorkFactory, tenant_id: UUID, conversation_id: UUID
) -> list[Any]:
    async with uow_factory(tenant_id) as uow:
        found = await uow.conversations.list_events(conversation_id=conversation_id)
        uow.session.expunge_all()
        return found


async def updates(uow_factory: UnitOfWorkFactory, tenant_id: UUID) -> list[dict[str, Any]]:
    statement = select(OutboxRow).where(OutboxRow.event_type == "conversation.updated")
    return [row.payload for row in await rows(uow_factory, tenant_id, statement)]


async def test_a_reply_queues_one_staff_message_even_when_retried_with_its_key(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant_id = hotel.tenant.tenant_id
    made = await make_conversation(hotel.tenant, "Can I get a late checkout?")
    async with uow_factory(tenant_id) as uow:
        draft = await uow.outbound.draft(
            conversation_id=made.conversation_id,
            channel_id=hotel.tenant.channel_id,
            content="Checkout is at 11:00.",
            send_after=datetime.now(UTC) + timedelta(minutes=2),
            in_reply_to_id=made.message_id,
        )
        await uow.commit()
    url = f"{API}/{made.conversation_id}/messages"
    headers = {**hotel.admin.headers, "Idempotency-Key": f"reply-{uuid4()}"}
    first = await api.post(url, headers=headers, json={"text": "Of course, until 13:00."})
    again = await api.post(url, headers=headers, json={"text": "Of course, until 13:00."})
    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert first.json()["sender_type"] == "staff"
    assert first.json()["status"] == "pending"

    staff = await rows(
        uow_factory,
        tenant_id,
        select(Message).where(
            Message.conversation_id == made.conversation_id, Message.sender_type == "staff"
        ),
    )
    assert len(staff) == 1
    assert staff[0].sender_user_id == hotel.admin.user_id
    assert staff[0].send_after <= datetime.now(UTC)
    [cancelled] = await rows(uow_factory, tenant_id, select(Message).where(Message.id == draft.id))
    assert (cancelled.status, cancelled.error) == ("cancelled", "staff replied first")
    trail = await events(uow_factory, tenant_id, made.conversation_id)
    assert [(e.kind, e.actor_user_id) for e in trail if e.kind == "reply"] == [
        ("reply", hotel.admin.user_id)
    ]
    assert ("status", "new", "open") in [(e.kind, e.from_value, e.to_value) for e in trail]
    replies = [u for u in await updates(uow_factory, tenant_id) if u["change"] == "reply"]
    assert [u["message_id"] for u in replies] == [first.json()["id"]]

    reused = await api.post(url, headers=headers, json={"text": "Something else"})
    assert reused.status_code == 409
    assert reused.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_canned_response_is_rendered_for_the_guest_and_property(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    uow_factory: UnitOfWorkFactory,
) -> None:
    made = await make_conversation(hotel.tenant, guest_name="Maria Lopez")
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        uow.session.add(
            CannedResponse(
                tenant_id=hotel.tenant.tenant_id,
                shortcut="/welcome",
                title="Welcome",
                body="Hi {{guest.first_name}}, welcome to {{property.name}}!",
            )
        )
        uow.session.add(
            CannedResponse(
                tenant_id=hotel.tenant.tenant_id,
                shortcut="/broken",
                title="Broken",
                body="Hi {{guest.shoe_size}}",
            )
        )
        await uow.commit()
    url = f"{API}/{made.conversation_id}/messages"
    sent = await api.post(url, headers=hotel.admin.headers, json={"canned_response": "/welcome"})
    assert sent.status_code == 201, sent.text
    assert sent.json()["content"] == "Hi Maria, welcome to Main!"
    for body, field in (
        ({"canned_response": "/nope"}, "canned_response"),
        ({"canned_response": "/broken"}, "canned_response"),
        ({}, "body"),
        ({"text": "a", "canned_response": "/welcome"}, "body"),
    ):
        refused = await api.post(url, headers=hotel.admin.headers, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert field in {e["field"] for e in refused.json()["errors"]}, refused.text


async def test_replies_the_provider_or_whatsapp_would_refuse_are_422_naming_the_rule(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    make_tenant: MakeTenant,
    make_staff: MakeStaff,
    uow_factory: UnitOfWorkFactory,
) -> None:
    stale = await make_conversation(hotel.tenant, at=datetime.now(UTC) - timedelta(days=2))
    async with uow_factory(hotel.tenant.tenant_id) as uow:  # the guest wrote two days ago
        await uow.session.execute(
            Message.__table__.update()
            .where(Message.id == stale.message_id)
            .values(created_at=datetime.now(UTC) - timedelta(days=2))
        )
        await uow.commit()
    refused = await api.post(
        f"{API}/{stale.conversation_id}/messages", headers=hotel.admin.headers, json={"text": "Hi"}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["rule"] == "whatsapp_24h_window"
    assert refused.json()["errors"][0]["field"] == "text"

    sms_hotel = await make_tenant(provider=Provider.TWILIO_SMS, address="+34600000002")
    admin = await make_staff(sms_hotel.tenant_id, roles=("admin",))
    sms = await make_conversation(sms_hotel)
    long = await api.post(
        f"{API}/{sms.conversation_id}/messages", headers=admin.headers, json={"text": "x" * 1601}
    )
    assert long.status_code == 422, long.text
    assert long.json()["rule"] == "text_length"
    assert "1600" in long.json()["detail"]
    for tenant, made in ((hotel.tenant, stale), (sms_hotel, sms)):
        written = await rows(
            uow_factory,
            tenant.tenant_id,
            select(Message).where(
                Message.conversation_id == made.conversation_id, Message.direction == "outbound"
            ),
        )
        assert written == []


async def test_status_moves_through_the_lifecycle_and_a_closed_conversation_takes_no_reply(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    uow_factory: UnitOfWorkFactory,
) -> None:
    made = await make_conversation(hotel.tenant)
    url, headers = f"{API}/{made.conversation_id}", hotel.admin.headers
    until = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    snoozed = await api.put(
        f"{url}/status", headers=headers, json={"status": "snoozed", "snoozed_until": until}
    )
    assert snoozed.status_code == 200, snoozed.text
    assert snoozed.json()["status"] == "snoozed"
    assert snoozed.json()["snoozed_until"]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    bad = await api.put(
        f"{url}/status", headers=headers, json={"status": "snoozed", "snoozed_until": past}
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "snoozed_until"

    resolved = await api.put(f"{url}/status", headers=headers, json={"status": "resolved"})
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["closed_at"]
    pending = await api.put(f"{url}/status", headers=headers, json={"status": "pending"})
    assert pending.status_code == 409
    assert pending.json()["current_status"] == "resolved"

    # Answering a resolved conversation opens it again.
    reply = await api.post(f"{url}/messages", headers=headers, json={"text": "One more thing"})
    assert reply.status_code == 201, reply.text
    assert (await api.get(url, headers=headers)).json()["status"] == "open"

    closed = await api.put(f"{url}/status", headers=headers, json={"status": "closed"})
    assert closed.status_code == 200
    late = await api.post(f"{url}/messages", headers=headers, json={"text": "Hello?"})
    assert late.status_code == 409
    assert late.json()["rule"] == "conversation_closed"
    reopen = await api.put(f"{url}/status", headers=headers, json={"status": "open"})
    assert reopen.status_code == 409
    assert reopen.json()["current_status"] == "closed"

    trail = [
        (e.kind, e.from_value, e.to_value, e.actor_user_id)
        for e in await events(uow_factory, hotel.tenant.tenant_id, made.conversation_id)
        if e.kind == "status"
    ]
    me = hotel.admin.user_id
    assert trail == [
        ("status", "new", "snoozed", me),
        ("status", "snoozed", "resolved", me),
        ("status", "resolved", "open", me),
        ("status", "open", "closed", me),
    ]


async def test_take_over_assign_priority_tags_and_notes_are_audited(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    make_staff: MakeStaff,
    make_team: MakeTeam,
    make_tenant: MakeTenant,
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant_id = hotel.tenant.tenant_id
    lead = await make_staff(tenant_id, roles=("team_lead",))
    agent = await make_staff(tenant_id, roles=("agent",))
    team = await make_team(tenant_id, [lead.user_id, agent.user_id])
    made = await make_conversation(hotel.tenant, team_id=team)
    url = f"{API}/{made.conversation_id}"

    taken = await api.post(f"{url}/takeover", headers=agent.headers)
    assert taken.status_code == 200, taken.text
    assert taken.json()["human_takeover"] is True
    assert taken.json()["assignee"]["id"] == str(agent.user_id)  # the taker, as nobody was

    outsider = await make_tenant()
    stranger = await make_staff(outsider.tenant_id, roles=("agent",))
    for body, field, status in (
        ({"assignee_id": str(stranger.user_id)}, "assignee_id", 422),
        ({"assignee_id": str(uuid4())}, "assignee_id", 422),
        ({"team_id": str(uuid4())}, "team_id", 422),
        ({}, "body", 422),
    ):
        refused = await api.put(f"{url}/assignment", headers=lead.headers, json=body)
        assert refused.status_code == status, (body, refused.text)
        assert field in {e["field"] for e in refused.json()["errors"]}, refused.text
    moved = await api.put(
        f"{url}/assignment", headers=lead.headers, json={"assignee_id": str(lead.user_id)}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee"]["id"] == str(lead.user_id)
    assert moved.json()["team"]["id"] == str(team)
    assert moved.json()["assigned_at"]
    assert (await api.put(f"{url}/assignment", headers=agent.headers, json={})).status_code == 403

    urgent = await api.put(f"{url}/priority", headers=lead.headers, json={"priority": "urgent"})
    assert urgent.json()["priority"] == "urgent"
    for _ in range(2):  # the second finds the tag, made once for the tenant
        tagged = await api.post(f"{url}/tags", headers=lead.headers, json={"name": "vip"})
        assert tagged.json()["tags"] == ["vip"]
    untagged = await api.delete(f"{url}/tags/vip", headers=lead.headers)
    assert untagged.json()["tags"] == []
    note = await api.post(f"{url}/notes", headers=lead.headers, json={"body": "Regular guest"})
    assert note.status_code == 201
    notes = await api.get(f"{url}/notes", headers=lead.headers)
    assert [n["body"] for n in notes.json()] == ["Regular guest"]
    handed = await api.post(f"{url}/handback", headers=lead.headers)
    assert handed.json()["human_takeover"] is False

    # One transaction's rows share a time: compared as multisets, the fixture's own left out.
    trail = sorted(
        (e.kind, str(e.actor_user_id))
        for e in await events(uow_factory, tenant_id, made.conversation_id)
        if e.actor_user_id is not None
    )
    assert trail == sorted(
        [
            ("takeover", str(agent.user_id)),
            ("assignee", str(agent.user_id)),
            ("assignee", str(lead.user_id)),
            ("priority", str(lead.user_id)),
            ("tag", str(lead.user_id)),
            ("tag", str(lead.user_id)),
            ("note", str(lead.user_id)),
            ("takeover", str(lead.user_id)),
        ]
    )
    changes = sorted(u["change"] for u in await updates(uow_factory, tenant_id))
    assert changes == sorted(
        ["takeover", "assignment", "assignment", "priority", "tag", "tag", "note", "takeover"]
    )
    [stored] = await rows(uow_factory, tenant_id, select(ConversationNote))
    assert stored.author_id == lead.user_id
    guest_messages = await rows(
        uow_factory,
        tenant_id,
        select(Message).where(Message.direction == "outbound"),
    )
    assert guest_messages == []  # a note never goes to the guest


async def test_acknowledging_a_notification_records_who(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    make_staff: MakeStaff,
    uow_factory: UnitOfWorkFactory,
) -> None:
    made = await make_conversation(hotel.tenant, "I want a refund")
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        notification, _ = await uow.notifications.add(
            conversation_id=made.conversation_id,
            message_id=made.message_id,
            type="escalation",
            next_alert_at=datetime.now(UTC),
        )
        await uow.commit()
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))
    path = f"/api/v1/notifications/{notification.id}/acknowledge"
    assert (await api.post(path, headers=agent.headers)).status_code == 404  # not their queue
    first = await api.post(path, headers=hotel.admin.headers)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "acknowledged"
    assert first.json()["acknowledged_by"] == str(hotel.admin.user_id)
    supervisor = await make_staff(hotel.tenant.tenant_id, roles=("supervisor",))
    again = await api.post(path, headers=supervisor.headers)
    assert again.json()["acknowledged_by"] == str(hotel.admin.user_id)
    acknowledged = [
        e
        for e in await events(uow_factory, hotel.tenant.tenant_id, made.conversation_id)
        if e.kind == "acknowledged"
    ]
    assert [e.actor_user_id for e in acknowledged] == [hotel.admin.user_id]
