"""Reading the inbox: filters, cursor pages with a total, one conversation in full, its
messages oldest first, and each role's scope (outside it: 404)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff
from tests.inbox.conftest import MakeConversation, MakeTeam

API = "/api/v1/conversations"


async def listed(api: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await api.get(API, headers=headers, params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_pages_follow_the_cursor_latest_first_with_the_total(
    api: httpx.AsyncClient, hotel: Hotel, make_conversation: MakeConversation
) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    made = [
        await make_conversation(hotel.tenant, f"question {n}", at=start + timedelta(minutes=n))
        for n in range(5)
    ]
    first = await listed(api, hotel.admin.headers, limit=2)
    assert first["total"] == 5
    seen = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = await listed(api, hotel.admin.headers, limit=2, cursor=cursor)
        assert page["total"] == 5
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [str(m.conversation_id) for m in reversed(made)]

    refused = await api.get(API, headers=hotel.admin.headers, params={"cursor": "nonsense!"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "cursor"


async def test_filters_narrow_the_list(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    make_staff: MakeStaff,
    uow_factory: UnitOfWorkFactory,
) -> None:
    agent = await make_staff(hotel.tenant.tenant_id, roles=("agent",))
    pool = await make_conversation(hotel.tenant, "Is the rooftop pool heated?")
    angry = await make_conversation(hotel.tenant, "This is a disgrace", requires_attention=True)
    mine = await make_conversation(hotel.tenant, "Late checkout?", assignee_id=agent.user_id)
    tagged = await api.post(
        f"{API}/{pool.conversation_id}/tags", headers=hotel.admin.headers, json={"name": "vip"}
    )
    assert tagged.status_code == 200, tagged.text
    admin = hotel.admin.headers

    def ids(body: dict[str, Any]) -> set[str]:
        return {item["id"] for item in body["items"]}

    assert ids(await listed(api, admin, q="ROOFTOP")) == {str(pool.conversation_id)}
    assert ids(await listed(api, admin, q="100%")) == set()  # wildcards are literal
    assert ids(await listed(api, admin, tag="vip")) == {str(pool.conversation_id)}
    assert ids(await listed(api, admin, requires_attention="true")) == {str(angry.conversation_id)}
    assert ids(await listed(api, admin, assignee=str(agent.user_id))) == {str(mine.conversation_id)}
    assert str(mine.conversation_id) not in ids(await listed(api, admin, assignee="none"))
    assert ids(await listed(api, agent.headers, assignee="me")) == {str(mine.conversation_id)}
    assert ids(await listed(api, admin, status="resolved")) == set()
    assert len(ids(await listed(api, admin, status=["new", "open"]))) == 3
    assert ids(await listed(api, admin, property_id=str(hotel.tenant.property_id))) == {
        str(c.conversation_id) for c in (pool, angry, mine)
    }
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    assert ids(await listed(api, admin, updated_since=later)) == set()

    bad = await api.get(API, headers=admin, params={"status": "asleep"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "status.0"


async def test_each_role_sees_its_scope_and_nothing_else_exists_for_it(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    make_staff: MakeStaff,
    make_team: MakeTeam,
) -> None:
    tenant_id = hotel.tenant.tenant_id
    agent = await make_staff(tenant_id, roles=("agent",))
    colleague = await make_staff(tenant_id, roles=("agent",))
    lead = await make_staff(tenant_id, roles=("team_lead",))
    supervisor = await make_staff(tenant_id, roles=("supervisor",))
    team = await make_team(tenant_id, [agent.user_id, colleague.user_id, lead.user_id])
    other_team = await make_team(tenant_id, [])

    own = await make_conversation(hotel.tenant, assignee_id=agent.user_id)
    team_queue = await make_conversation(hotel.tenant, team_id=team)
    colleagues = await make_conversation(hotel.tenant, team_id=team, assignee_id=colleague.user_id)
    elsewhere = await make_conversation(hotel.tenant, team_id=other_team)
    nobody = await make_conversation(hotel.tenant)

    def ids(body: dict[str, Any]) -> set[str]:
        return {item["id"] for item in body["items"]}

    every = {str(c.conversation_id) for c in (own, team_queue, colleagues, elsewhere, nobody)}
    assert ids(await listed(api, agent.headers)) == {
        str(own.conversation_id),
        str(team_queue.conversation_id),
    }
    assert ids(await listed(api, lead.headers)) == {
        str(team_queue.conversation_id),
        str(colleagues.conversation_id),
    }
    assert ids(await listed(api, supervisor.headers)) == every
    assert (await listed(api, agent.headers))["total"] == 2

    # Outside the scope, a conversation does not exist: reading it or acting on it is 404.
    outside = f"{API}/{colleagues.conversation_id}"
    for method, path, body in (
        ("GET", outside, None),
        ("GET", f"{outside}/messages", None),
        ("POST", f"{outside}/messages", {"text": "Hi"}),
        ("POST", f"{outside}/takeover", None),
        ("PUT", f"{outside}/status", {"status": "resolved"}),
        ("POST", f"{outside}/notes", {"body": "mine now"}),
    ):
        response = await api.request(method, path, headers=agent.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    detail = await api.get(outside, headers=supervisor.headers)
    assert detail.status_code == 200
    assert detail.json()["status"] == "new"  # nothing the agent tried happened


async def test_one_conversation_in_full_and_its_messages_oldest_first(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_conversation: MakeConversation,
    uow_factory: UnitOfWorkFactory,
) -> None:
    made = await make_conversation(hotel.tenant, "Is breakfast included?", guest_name="Ana Ruiz")
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        await uow.inbound.set_sentiment(
            message_id=made.message_id, score=0.2, label="neutral", requires_attention=False
        )
        await uow.inbound.record_decision(
            message_id=made.message_id,
            decision="escalate",
            reason="low_confidence confidence=0.20",
            at=datetime.now(UTC),
        )
        await uow.commit()
    for n in range(3):  # one transaction each: a transaction's rows share one created_at
        async with uow_factory(hotel.tenant.tenant_id) as uow:
            await uow.outbound.draft(
                conversation_id=made.conversation_id,
                channel_id=hotel.tenant.channel_id,
                content=f"answer {n}",
                send_after=datetime.now(UTC),
            )
            await uow.commit()
    response = await api.get(f"{API}/{made.conversation_id}", headers=hotel.admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["guest"]["full_name"] == "Ana Ruiz"
    assert body["channel"]["provider"] == "green_api"
    assert body["reservation"] is None
    assert body["human_takeover"] is False
    assert (body["assignee"], body["team"], body["tags"]) == (None, None, [])

    page = await api.get(
        f"{API}/{made.conversation_id}/messages", headers=hotel.admin.headers, params={"limit": 2}
    )
    assert page.status_code == 200
    first = page.json()
    guest, bot = first["items"]
    assert guest["direction"] == "inbound"
    assert guest["sender_type"] == "guest"
    assert guest["sentiment"] == {"score": 0.2, "label": "neutral"}
    assert guest["decision"]["decision"] == "escalate"
    assert guest["decision"]["reason"] == "low_confidence confidence=0.20"
    assert (bot["direction"], bot["sender_type"], bot["status"]) == ("outbound", "bot", "pending")
    rest = await api.get(
        f"{API}/{made.conversation_id}/messages",
        headers=hotel.admin.headers,
        params={"cursor": first["next_cursor"]},
    )
    assert [m["content"] for m in rest.json()["items"]] == ["answer 1", "answer 2"]
    assert rest.json()["next_cursor"] is None
