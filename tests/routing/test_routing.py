"""The router end to end: escalations and staff actions on the real broker, two router workers
competing, the API over HTTP, assignments in ``conversation_events`` and on the event stream."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.events import MessageAccepted
from persistence.models import RoutingRule
from tests.api.conftest import MakeStaff, Staff
from tests.conftest import MakeTenant
from tests.routing.conftest import Routing, eventually

CONVERSATIONS = 12
AGENTS, CAPACITY = 3, 2


async def _online(routing: Routing, agent: Staff) -> None:
    response = await routing.http.put(
        "/api/v1/me/availability", headers=agent.headers, json={"availability": "online"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["availability"] == "online"


async def test_two_workers_under_concurrency_never_exceed_capacity_nor_assign_twice(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant()
    agents = [await make_staff(tenant.tenant_id) for _ in range(AGENTS)]
    for agent in agents:
        await routing.set_agent(
            tenant.tenant_id, agent.user_id, availability="online", capacity=CAPACITY
        )
    conversations = [await routing.conversation(tenant) for _ in range(CONVERSATIONS)]
    # Every conversation escalated twice, all at once: both workers take deliveries together.
    await asyncio.gather(
        *(routing.escalate(tenant.tenant_id, conversation) for conversation in conversations * 2)
    )

    async def all_places_taken() -> list[UUID]:
        assignees = await routing.assignees(tenant.tenant_id)
        taken = [a for a in assignees.values() if a is not None]
        return taken if len(taken) == AGENTS * CAPACITY else []

    await eventually(all_places_taken, "every agent's places taken")
    # Whatever the workers still hold settles: the queue keeps the rest.
    queue = await routing.http.get("/api/v1/routing/queue", headers=agents[0].headers)
    assert queue.status_code == 403  # agents do not hand out conversations
    supervisor = await make_staff(tenant.tenant_id, roles=("supervisor",))

    async def queue_of_rest() -> list[dict[str, object]]:
        response = await routing.http.get("/api/v1/routing/queue", headers=supervisor.headers)
        waiting = response.json()
        return waiting if len(waiting) == CONVERSATIONS - AGENTS * CAPACITY else []

    waiting = await eventually(queue_of_rest, "the rest waiting")
    assignees = await routing.assignees(tenant.tenant_id)
    load = Counter(a for a in assignees.values() if a is not None)
    assert load == {agent.user_id: CAPACITY for agent in agents}
    assert {UUID(str(w["conversation_id"])) for w in waiting} == {
        c for c, a in assignees.items() if a is None
    }
    for conversation in conversations:
        routed = [
            e for e in await routing.trail(tenant.tenant_id, conversation) if e.kind == "assignee"
        ]
        assert len(routed) == (1 if assignees[conversation] else 0), routed
        assert all(e.actor_type == "system" and e.from_value is None for e in routed)


async def test_language_and_topic_skills_choose_the_agent(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant()
    english = await make_staff(tenant.tenant_id)
    spanish = await make_staff(tenant.tenant_id)
    refunds = await make_staff(tenant.tenant_id)
    await routing.set_agent(tenant.tenant_id, english.user_id, skills=["lang:en"])
    await routing.set_agent(tenant.tenant_id, spanish.user_id, skills=["lang:es"])
    await routing.set_agent(
        tenant.tenant_id, refunds.user_id, skills=["lang:es", "topic:refund"], capacity=1
    )
    for agent in (english, spanish, refunds):
        await _online(routing, agent)

    refund_es = await routing.conversation(tenant, language="es-ES")
    await routing.escalate(tenant.tenant_id, refund_es, "category=refund confidence=0.30")
    assert await routing.wait_assigned(tenant.tenant_id, refund_es) == refunds.user_id

    question_es = await routing.conversation(tenant, language="es")
    await routing.escalate(tenant.tenant_id, question_es)
    assert await routing.wait_assigned(tenant.tenant_id, question_es) == spanish.user_id

    question_en = await routing.conversation(tenant, language="en")
    await routing.escalate(tenant.tenant_id, question_en)
    assert await routing.wait_assigned(tenant.tenant_id, question_en) == english.user_id

    # Nobody speaks English and handles refunds: it waits, until an agent learns it and the
    # queue is handed out again.
    refund_en = await routing.conversation(tenant, language="en")
    await routing.escalate(tenant.tenant_id, refund_en, "category=refund")
    supervisor = await make_staff(tenant.tenant_id, roles=("supervisor",))

    async def waiting() -> list[dict[str, Any]]:
        response = await routing.http.get("/api/v1/routing/queue", headers=supervisor.headers)
        return [w for w in response.json() if w["conversation_id"] == str(refund_en)]

    [entry] = await eventually(waiting, "the English refund waiting")
    assert entry["topic"] == "refund"
    assert entry["language"] == "en"
    await routing.set_agent(tenant.tenant_id, english.user_id, skills=["lang:en", "topic:refund"])
    rebalanced = await routing.http.post("/api/v1/routing/rebalance", headers=supervisor.headers)
    assert rebalanced.status_code == 200, rebalanced.text
    assert rebalanced.json()["assigned"] == [
        {"conversation_id": str(refund_en), "user_id": str(english.user_id), "team_id": None}
    ]
    assert await routing.assigned(tenant.tenant_id, refund_en) == english.user_id


async def test_an_agent_coming_online_or_freeing_capacity_takes_the_oldest_first(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant()
    agent = await make_staff(tenant.tenant_id)
    supervisor = await make_staff(tenant.tenant_id, roles=("supervisor",))
    await routing.set_agent(tenant.tenant_id, agent.user_id, capacity=2)
    oldest, middle, newest = [await routing.conversation(tenant) for _ in range(3)]
    for conversation in (oldest, middle, newest):
        await routing.escalate(tenant.tenant_id, conversation)

        async def queued(conversation: UUID = conversation) -> bool:
            response = await routing.http.get("/api/v1/routing/queue", headers=supervisor.headers)
            return str(conversation) in {w["conversation_id"] for w in response.json()}

        await eventually(queued, "the conversation queued")
        routing.clock.advance(timedelta(minutes=1))
    response = await routing.http.get("/api/v1/routing/queue", headers=supervisor.headers)
    assert [w["conversation_id"] for w in response.json()] == [
        str(oldest),
        str(middle),
        str(newest),
    ]

    await _online(routing, agent)
    assert await routing.wait_assigned(tenant.tenant_id, oldest) == agent.user_id
    assert await routing.wait_assigned(tenant.tenant_id, middle) == agent.user_id
    assert await routing.assigned(tenant.tenant_id, newest) is None  # at capacity

    resolved = await routing.http.put(
        f"/api/v1/conversations/{oldest}/status",
        headers=agent.headers,
        json={"status": "resolved"},
    )
    assert resolved.status_code == 200, resolved.text
    assert await routing.wait_assigned(tenant.tenant_id, newest) == agent.user_id


async def test_a_manual_assignment_is_never_undone_by_the_router(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant()
    chosen, online = await make_staff(tenant.tenant_id), await make_staff(tenant.tenant_id)
    conversation = await routing.conversation(tenant)
    await routing.escalate(tenant.tenant_id, conversation)
    supervisor = await make_staff(tenant.tenant_id, roles=("supervisor",))

    async def queued() -> bool:
        response = await routing.http.get("/api/v1/routing/queue", headers=supervisor.headers)
        return str(conversation) in {w["conversation_id"] for w in response.json()}

    await eventually(queued, "the conversation queued")
    url = f"/api/v1/conversations/{conversation}/assignment"
    manual = await routing.http.put(
        url, headers=supervisor.headers, json={"assignee_id": str(chosen.user_id)}
    )
    assert manual.status_code == 200, manual.text
    assert not await queued()

    await _online(routing, online)  # an agent with room, who would get it from the router
    await routing.escalate(tenant.tenant_id, conversation, "category=complaint")
    other = await routing.conversation(tenant)
    await routing.escalate(tenant.tenant_id, other)
    # The later conversation is routed, so the router has seen both escalations by then.
    assert await routing.wait_assigned(tenant.tenant_id, other) == online.user_id
    rebalanced = await routing.http.post("/api/v1/routing/rebalance", headers=supervisor.headers)
    assert rebalanced.json()["assigned"] == []
    assert await routing.assigned(tenant.tenant_id, conversation) == chosen.user_id
    trail = [
        (e.kind, e.actor_type, e.to_value)
        for e in await routing.trail(tenant.tenant_id, conversation)
        if e.kind == "assignee"
    ]
    assert trail == [("assignee", "staff", str(chosen.user_id))]


async def test_a_manual_assignment_outside_the_tenant_the_reply_right_or_the_team_is_refused(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant, elsewhere = await make_tenant(), await make_tenant()
    supervisor = await make_staff(tenant.tenant_id, roles=("supervisor",))
    member, outsider = await make_staff(tenant.tenant_id), await make_staff(tenant.tenant_id)
    stranger = await make_staff(elsewhere.tenant_id)
    team = await routing.team(tenant.tenant_id, [member.user_id])
    conversation = await routing.conversation(tenant, team_id=team)
    async with routing.uow_factory(tenant.tenant_id) as uow:  # a user with no role at all
        from tests.api.conftest import CLI
        from workers.api.commands.staff import add_user

        roleless = await add_user(
            uow, actor=CLI, email="roleless@hotel.example", full_name="R", roles=(), password=None
        )
        await uow.commit()
    url = f"/api/v1/conversations/{conversation}/assignment"
    for assignee, reason in (
        (stranger.user_id, "no active staff member"),
        (roleless.id, "conversations.reply"),
        (outsider.user_id, "not in the conversation's team"),
    ):
        refused = await routing.http.put(
            url, headers=supervisor.headers, json={"assignee_id": str(assignee)}
        )
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        [error] = refused.json()["errors"]
        assert error["field"] == "assignee_id", error
        assert reason in error["message"], error
    assert await routing.assigned(tenant.tenant_id, conversation) is None
    accepted = await routing.http.put(
        url, headers=supervisor.headers, json={"assignee_id": str(member.user_id)}
    )
    assert accepted.status_code == 200, accepted.text
    # Outside the team is fine when the team changes with it (or goes).
    moved = await routing.http.put(
        url,
        headers=supervisor.headers,
        json={"assignee_id": str(outsider.user_id), "team_id": None},
    )
    assert moved.status_code == 200, moved.text


async def test_a_rule_chooses_the_team_and_humans_first_routes_new_conversations(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant()
    admin = await make_staff(tenant.tenant_id, roles=("admin",))
    desk, concierge = await make_staff(tenant.tenant_id), await make_staff(tenant.tenant_id)
    desk_team = await routing.team(tenant.tenant_id, [desk.user_id])
    concierge_team = await routing.team(tenant.tenant_id, [concierge.user_id])
    for agent in (desk, concierge):  # both could take a complaint: the rule decides
        await routing.set_agent(
            tenant.tenant_id, agent.user_id, skills=["topic:complaint"], availability="online"
        )
    rules = "/api/v1/routing/rules"
    made = await routing.http.post(
        rules,
        headers=admin.headers,
        json={
            "name": "WhatsApp to the desk",
            "team_id": str(desk_team),
            "channel_id": str(tenant.channel_id),
            "humans_first": True,
        },
    )
    assert made.status_code == 201, made.text
    complaints = await routing.http.post(
        rules,
        headers=admin.headers,
        json={"name": "Complaints", "team_id": str(concierge_team), "topic": "Complaint"},
    )
    assert complaints.json()["topic"] == "complaint"

    new = await routing.conversation(tenant)
    await routing.publish(
        MessageAccepted(
            tenant_id=tenant.tenant_id,
            message_id=new,  # any id: the router reads the conversation and the channel
            conversation_id=new,
            guest_id=new,
            channel_id=tenant.channel_id,
        )
    )
    assert await routing.wait_assigned(tenant.tenant_id, new) == desk.user_id
    complaint = await routing.conversation(tenant)
    await routing.escalate(tenant.tenant_id, complaint, "category=complaint")
    assert await routing.wait_assigned(tenant.tenant_id, complaint) == concierge.user_id
    teams = await routing.rows(
        "SELECT id, team_id FROM conversations WHERE id IN (:a, :b)", a=new, b=complaint
    )
    assert {row["id"]: row["team_id"] for row in teams} == {
        new: desk_team,
        complaint: concierge_team,
    }


async def test_rules_and_statuses_refuse_bad_input_naming_the_field(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant, elsewhere = await make_tenant(), await make_tenant()
    admin = await make_staff(tenant.tenant_id, roles=("admin",))
    stranger = await make_staff(elsewhere.tenant_id)
    team = await routing.team(tenant.tenant_id, [])
    their_team = await routing.team(elsewhere.tenant_id, [])
    rules, http, headers = "/api/v1/routing/rules", routing.http, admin.headers
    for body, field in (
        ({"name": "x", "team_id": str(their_team)}, "team_id"),
        (
            {"name": "x", "team_id": str(team), "channel_id": str(elsewhere.channel_id)},
            "channel_id",
        ),
        ({"name": "x", "team_id": str(team), "humans_first": True}, "humans_first"),
        ({"name": "x", "team_id": str(team), "topic": "no spaces"}, "topic"),
        ({"name": "x", "team_id": str(team), "position": -1}, "position"),
    ):
        refused = await http.post(rules, headers=headers, json=body)
        assert refused.status_code == 422, (body, refused.text)
        assert field in {e["field"] for e in refused.json()["errors"]}, refused.text
    made = await http.post(rules, headers=headers, json={"name": "All", "team_id": str(team)})
    assert made.status_code == 201
    again = await http.post(rules, headers=headers, json={"name": "All", "team_id": str(team)})
    assert again.status_code == 409
    rule_url = f"{rules}/{made.json()['id']}"
    assert (await http.patch(rule_url, headers=headers, json={"team_id": None})).status_code == 422
    changed = await http.patch(rule_url, headers=headers, json={"position": 5})
    assert changed.json()["position"] == 5
    assert (await http.delete(rule_url, headers=headers)).status_code == 204
    assert (await http.get(rule_url, headers=headers)).status_code == 404
    async with routing.uow_factory(tenant.tenant_id) as uow:
        assert await uow.configuration.list_all(RoutingRule) == []

    me = "/api/v1/me/availability"
    assert (await http.put(me, headers=headers, json={"availability": "busy"})).status_code == 422
    assert (await http.put(me, headers=headers, json={})).status_code == 422
    user_url = f"/api/v1/users/{admin.user_id}/routing"
    bodies: list[dict[str, object]] = [{"capacity": -1}, {"capacity": 201}, {"capacity": "x"}]
    for body in bodies:
        refused = await http.put(user_url, headers=headers, json=body)
        assert refused.status_code == 422, refused.text
        assert "capacity" in {e["field"] for e in refused.json()["errors"]}
    stranger_url = f"/api/v1/users/{stranger.user_id}/routing"
    assert (await http.put(stranger_url, headers=headers, json={"capacity": 3})).status_code == 404
    set_ = await http.put(user_url, headers=headers, json={"capacity": 7, "availability": "away"})
    assert set_.status_code == 200, set_.text
    assert (set_.json()["capacity"], set_.json()["availability"]) == (7, "away")
    mine = await http.get(me, headers=headers)
    assert (mine.json()["capacity"], mine.json()["availability"]) == (7, "away")
    audit = await routing.rows(
        "SELECT new_values FROM config_audit WHERE tenant_id = :t AND resource = 'agent_status'",
        t=tenant.tenant_id,
    )
    assert [row["new_values"] for row in audit] == [{"availability": "away", "capacity": 7}]


async def test_every_assignment_is_in_the_trail_and_on_the_event_stream(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant()
    agent = await make_staff(tenant.tenant_id)
    supervisor = await make_staff(tenant.tenant_id, roles=("supervisor",))
    conversation = await routing.conversation(tenant)
    await routing.escalate(tenant.tenant_id, conversation, "category=complaint")

    async def queued() -> bool:
        response = await routing.http.get("/api/v1/routing/queue", headers=supervisor.headers)
        return str(conversation) in {w["conversation_id"] for w in response.json()}

    await eventually(queued, "the conversation queued")
    await routing.set_agent(tenant.tenant_id, agent.user_id, skills=["topic:complaint"])
    async with (
        routing.live.stream(agent.headers) as agent_reader,
        routing.live.stream(supervisor.headers) as supervisor_reader,
    ):
        await _online(routing, agent)

        async def routed(reader: Any) -> list[dict[str, Any]]:
            return [
                e["data"]
                for e in reader.of("conversation.updated")
                if e["data"]["conversation_id"] == str(conversation)
                and e["data"]["change"] == "assignment"
            ]

        [heard] = await eventually(lambda: routed(agent_reader), "the agent told")
        assert heard["to_value"] == str(agent.user_id)
        assert heard["actor_user_id"] is None  # the router, not a person
        await eventually(lambda: routed(supervisor_reader), "the supervisor told")
    trail = await routing.trail(tenant.tenant_id, conversation)
    assert [(t.kind, t.actor_type, t.from_value, t.to_value) for t in trail] == [
        ("assignee", "system", None, str(agent.user_id))
    ]


async def test_a_conversation_resolved_while_waiting_leaves_the_queue_for_good(
    routing: Routing, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant()
    supervisor = await make_staff(tenant.tenant_id, roles=("supervisor",))
    conversation = await routing.conversation(tenant)
    await routing.escalate(tenant.tenant_id, conversation)

    async def waiting_since() -> list[object]:
        rows = await routing.rows(
            "SELECT routing_requested_at FROM conversations WHERE id = :c", c=conversation
        )
        return [row["routing_requested_at"] for row in rows if row["routing_requested_at"]]

    await eventually(waiting_since, "the conversation queued")
    url = f"/api/v1/conversations/{conversation}/status"
    for status in ("resolved", "open"):  # reopened by staff: nobody asked for a human again
        response = await routing.http.put(url, headers=supervisor.headers, json={"status": status})
        assert response.status_code == 200, response.text

    async def left() -> bool:
        return not await waiting_since()

    await eventually(left, "the conversation out of the queue")
    queue = await routing.http.get("/api/v1/routing/queue", headers=supervisor.headers)
    assert queue.json() == []
