"""The inbox with the real ingress, RabbitMQ, consumers, dispatcher and provider stand-in: staff
replies reach the guest once, drafted bot replies they overtake never go, and a guest writing
during a takeover gets no bot answer while the assignee is alerted."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx

from tests.api.conftest import MakeStaff
from tests.conftest import MakeTenant
from tests.pipeline.conftest import GuestChannel, System, eventually
from workers.dispatch.main import run_dispatcher

QUESTION = "What are your opening hours?"
OPENING_HOURS = "open Tuesday to Sunday"


def sent_texts(system: System, words: str) -> list[str]:
    return [
        entry["body"]["text"]
        for entry in system.sent_to_provider("telegram")
        if words in entry["body"]["text"]
    ]


async def conversation_of(system: System, guest: GuestChannel, text: str) -> str:
    message = await system.decided(await guest.say(text))
    return str(message["conversation_id"])


async def test_a_staff_reply_reaches_the_guest_once_though_the_post_is_retried(
    system: System, make_tenant: MakeTenant, make_staff: MakeStaff, api: httpx.AsyncClient
) -> None:
    guest = await system.tenant(make_tenant)
    conversation_id = await conversation_of(system, guest, "Hello there")
    admin = await make_staff(guest.tenant_id, roles=("admin",))
    words = f"A table for two is ready at eight ({uuid4().hex[:6]})."
    headers = {**admin.headers, "Idempotency-Key": str(uuid4())}
    url = f"/api/v1/conversations/{conversation_id}/messages"
    first = await api.post(url, headers=headers, json={"text": words})
    assert first.status_code == 201, first.text
    # A dispatcher restarted meanwhile (a second one, started now) sweeps alongside the first
    # while the client retries, twice at once.
    stop = asyncio.Event()
    restarted = asyncio.create_task(run_dispatcher(system.settings, stop))
    try:
        answers = await asyncio.gather(
            *(api.post(url, headers=headers, json={"text": words}) for _ in range(2))
        )
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert {a.json()["id"] for a in answers} == {first.json()["id"]}

        async def sent() -> list[dict[str, object]]:
            rows = await system.rows(
                "SELECT status FROM messages WHERE conversation_id = :c AND sender_type = 'staff'",
                c=conversation_id,
            )
            return rows if rows and rows[0]["status"] == "sent" else []

        assert len(await eventually(sent)) == 1
        # A later reply sent means the dispatchers swept again after the first went out.
        later = f"See you then ({uuid4().hex[:6]})."
        posted = await api.post(
            url, headers={**admin.headers, "Idempotency-Key": str(uuid4())}, json={"text": later}
        )
        assert posted.status_code == 201, posted.text
        await eventually(lambda: _texts_sent(system, later))
    finally:
        stop.set()
        await restarted
    assert len(sent_texts(system, words)) == 1


async def _texts_sent(system: System, words: str) -> list[str]:
    return sent_texts(system, words)


async def test_a_bot_reply_drafted_before_a_staff_reply_is_never_sent(
    system: System, make_tenant: MakeTenant, make_staff: MakeStaff, api: httpx.AsyncClient
) -> None:
    guest = await system.tenant(make_tenant, response_delay_minutes=5)
    message = await system.decided(await guest.say(QUESTION))
    [draft] = await system.replies(message["id"])
    assert draft["status"] == "pending"
    agent = await make_staff(guest.tenant_id, roles=("supervisor",))
    answer = await api.post(
        f"/api/v1/conversations/{message['conversation_id']}/messages",
        headers=agent.headers,
        json={"text": "We open at noon today, see you soon."},
    )
    assert answer.status_code == 201, answer.text
    # The draft falls due: the dispatcher must not send it.
    await system.rows(
        "UPDATE messages SET send_after = now() WHERE id = :m RETURNING id", m=draft["id"]
    )

    async def staff_sent() -> bool:
        rows = await system.rows("SELECT status FROM messages WHERE id = :m", m=answer.json()["id"])
        return rows[0]["status"] == "sent"

    await eventually(staff_sent)
    [after] = await system.replies(message["id"])
    assert after["status"] == "cancelled"
    assert after["error"] == "staff replied first"
    assert sent_texts(system, draft["content"]) == []


async def test_during_takeover_a_guest_message_gets_no_bot_answer_and_alerts_the_assignee(
    system: System, make_tenant: MakeTenant, make_staff: MakeStaff, api: httpx.AsyncClient
) -> None:
    guest = await system.tenant(make_tenant)
    conversation_id = await conversation_of(system, guest, "Hi, a question about dinner")
    agent = await make_staff(guest.tenant_id, roles=("agent",))
    async with system.uow_factory(guest.tenant_id) as uow:  # the agent's own alert target
        own = await uow.alert_targets.add_webhook_target(
            name="agent's phone", webhook_url=f"{system.stand_in_url}/staff-alerts"
        )
        own.user_id = agent.user_id
        await uow.commit()
    # Unassigned conversations of no team are the supervisors' to hand out.
    supervisor = await make_staff(guest.tenant_id, roles=("supervisor",))
    assigned = await api.put(
        f"/api/v1/conversations/{conversation_id}/assignment",
        headers=supervisor.headers,
        json={"assignee_id": str(agent.user_id)},
    )
    assert assigned.status_code == 200, assigned.text
    taken = await api.post(
        f"/api/v1/conversations/{conversation_id}/takeover", headers=agent.headers
    )
    assert taken.status_code == 200, taken.text
    assert taken.json()["human_takeover"] is True

    before = await system.rows(
        "SELECT priority FROM conversations WHERE id = :c", c=conversation_id
    )
    message = await system.decided(await guest.say(QUESTION))
    assert message["ai_decision"] == "skip"
    assert message["ai_decision_reason"] == "human_takeover"
    assert await system.replies(message["id"]) == []

    async def alerted() -> list[dict[str, object]]:
        return await system.rows(
            "SELECT d.target_id, d.status FROM staff_alert_deliveries d"
            " JOIN staff_notifications n ON n.id = d.notification_id"
            " WHERE n.message_id = :m AND n.type = 'guest_message' AND d.status = 'sent'",
            m=message["id"],
        )

    deliveries = await eventually(alerted)
    assert [row["target_id"] for row in deliveries] == [own.id]  # not the staff room
    [notification] = await system.notifications(message["id"])
    assert notification["type"] == "guest_message"
    conversation = await system.rows(
        "SELECT priority FROM conversations WHERE id = :c", c=conversation_id
    )
    assert conversation == before  # a guest writing is no escalation: the priority stays
    assert sent_texts(system, OPENING_HOURS) == []
