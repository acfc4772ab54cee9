"""End to end: signed webhooks through the real ingress, RabbitMQ, consumers, dispatcher and
PostgreSQL, to replies at the provider stand-in and alerts at the staff webhook."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.conftest import MakeTenant
from tests.pipeline.conftest import System, eventually, quiet_hours_around_now

QUESTION = "What are your opening hours?"
OPENING_HOURS = "open Tuesday to Sunday"


async def test_a_question_the_knowledge_base_answers_gets_one_reply(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    webhook = await guest.say(QUESTION)

    message = await system.decided(webhook)
    assert message["ai_decision"] == "reply", message["ai_decision_reason"]
    assert message["sentiment_label"] is not None

    async def sent() -> list[dict[str, object]]:
        replies = await system.replies(message["id"])
        return replies if replies and replies[0]["status"] == "sent" else []

    [reply] = await eventually(sent)
    assert OPENING_HOURS in reply["content"]
    assert reply["sender_type"] == "bot"
    chat_id = webhook.provider_message_id.split(":")[0]
    outbound = [
        entry
        for entry in system.sent_to_provider("telegram")
        if str(entry["body"]["chat_id"]) == chat_id and OPENING_HOURS in entry["body"]["text"]
    ]
    assert len(outbound) == 1


async def test_the_reply_waits_for_the_response_delay(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant, response_delay_minutes=5)
    webhook = await guest.say(QUESTION)
    message = await system.decided(webhook)
    [reply] = await system.replies(message["id"])
    delay = reply["send_after"] - message["ai_decided_at"]
    assert timedelta(minutes=5) - timedelta(seconds=1) <= delay <= timedelta(minutes=5, seconds=1)

    # The dispatcher sweeps on meanwhile: a reply due at once, drafted after this one, goes
    # out, and this one is still waiting.
    other = await system.tenant(make_tenant)
    answered = await system.decided(await other.say(QUESTION))

    async def other_sent() -> bool:
        replies = await system.replies(answered["id"])
        return bool(replies) and replies[0]["status"] == "sent"

    await eventually(other_sent)
    [reply] = await system.replies(message["id"])
    assert reply["status"] == "pending"

    # Time passes: the reply falls due and goes out, once.
    await system.rows(
        "UPDATE messages SET send_after = now() WHERE id = :m RETURNING id", m=reply["id"]
    )

    async def sent() -> bool:
        [row] = await system.replies(message["id"])
        return row["status"] == "sent"

    await eventually(sent)


async def test_the_same_webhook_three_times_yields_one_message_and_one_reply(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    webhook = guest.webhook("Do you have gluten-free dishes?", guest=7)
    first, second = await asyncio.gather(guest.post(webhook), guest.post(webhook))
    third = await guest.post(webhook)
    assert [r.status_code for r in (first, second, third)] == [200, 200, 200]

    message = await system.decided(webhook)
    assert message["ai_decision"] == "reply"

    async def sent() -> list[dict[str, object]]:
        replies = await system.replies(message["id"])
        return replies if replies and replies[0]["status"] == "sent" else []

    await eventually(sent)
    assert len(await system.inbound(webhook)) == 1
    assert len(await system.replies(message["id"])) == 1
    stored = await system.rows(
        "SELECT count(*) AS n FROM webhook_events WHERE tenant_id = :t", t=guest.tenant_id
    )
    assert stored[0]["n"] == 1


async def test_an_angry_complaint_is_escalated_not_answered(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    webhook = await guest.say(
        "This is a disgrace. We waited an hour, the food was cold and the waiter was rude. "
        "I want my money back!"
    )
    message = await system.decided(webhook)
    assert message["ai_decision"] == "escalate"
    assert message["sentiment_label"] == "negative"
    assert await system.replies(message["id"]) == []

    async def alerted() -> list[dict[str, object]]:
        rows = await system.notifications(message["id"])
        return rows if rows and rows[0]["alerts_sent"] == 1 else []

    [notification] = await eventually(alerted)
    assert notification["type"] in ("escalation", "negative_sentiment")
    alerts = [
        e for e in system.sent_to_provider("staff_webhook") if "money back" in e["body"]["text"]
    ]
    assert len(alerts) == 1
    assert "/ack/" in alerts[0]["body"]["text"]


async def test_a_question_outside_the_knowledge_base_escalates_as_low_confidence(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    webhook = await guest.say("Could you recommend a good dentist in town?")
    message = await system.decided(webhook)
    assert message["ai_decision"] == "escalate"
    assert message["ai_decision_reason"].startswith("low_confidence")
    [notification] = await eventually(lambda: system.notifications(message["id"]))
    assert notification["type"] == "low_confidence"


async def test_quiet_hours_hold_staff_alerts_but_not_answers_or_emergencies(
    system: System, make_tenant: MakeTenant
) -> None:
    start, end = quiet_hours_around_now("Europe/Rome")
    guest = await system.tenant(
        make_tenant, timezone="Europe/Rome", quiet_hours_start=start, quiet_hours_end=end
    )
    question = await guest.say(QUESTION, guest=1)
    complaint = await guest.say("Could you recommend a good dentist in town?", guest=2)
    emergency = await guest.say("Help, there is a fire in the kitchen, call an ambulance!", guest=3)

    answered = await system.decided(question)

    async def reply_sent() -> bool:
        replies = await system.replies(answered["id"])
        return bool(replies) and replies[0]["status"] == "sent"

    await eventually(reply_sent)

    urgent_message = await system.decided(emergency)

    async def urgent_alerted() -> list[dict[str, object]]:
        rows = await system.notifications(urgent_message["id"])
        return rows if rows and rows[0]["alerts_sent"] == 1 else []

    [urgent] = await eventually(urgent_alerted)
    assert urgent["urgent"] is True

    held_message = await system.decided(complaint)
    [held] = await eventually(lambda: system.notifications(held_message["id"]))
    assert held["alerts_sent"] == 0
    assert held["next_alert_at"] > datetime.now(UTC) + timedelta(minutes=30)


async def test_an_emergency_in_words_no_pattern_knows_pages_staff_at_once(
    system: System, make_tenant: MakeTenant
) -> None:
    # No keyword names it; the kind model reads the message's embedding and finds it likely an
    # emergency, so staff are alerted at once even inside quiet hours.
    start, end = quiet_hours_around_now("Europe/Berlin")
    guest = await system.tenant(
        make_tenant, timezone="Europe/Berlin", quiet_hours_start=start, quiet_hours_end=end
    )
    webhook = await guest.say("Im Treppenhaus riecht es verbrannt und der Rauchmelder piept!")
    message = await system.decided(webhook)
    assert message["ai_decision"] == "escalate"
    assert message["ai_decision_reason"].startswith("escalation")

    async def alerted() -> list[dict[str, object]]:
        rows = await system.notifications(message["id"])
        return rows if rows and rows[0]["alerts_sent"] == 1 else []

    [alert] = await eventually(alerted)
    assert alert["urgent"] is True
    assert await system.replies(message["id"]) == []


async def test_a_staff_reply_inside_the_delay_cancels_the_auto_reply(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant, response_delay_minutes=5)
    webhook = await guest.say(QUESTION)
    message = await system.decided(webhook)
    [draft] = await system.replies(message["id"])

    async with system.uow_factory(guest.tenant_id) as uow:
        staff_reply = await uow.outbound.draft(
            conversation_id=message["conversation_id"],
            channel_id=message["channel_id"],
            content="Hi! We open at noon today, see you soon.",
            sender_type="staff",
            send_after=datetime.now(UTC),
        )
        await uow.commit()
    await system.rows(
        "UPDATE messages SET send_after = now() WHERE id = :m RETURNING id", m=draft["id"]
    )

    async def settled() -> dict[str, str] | None:
        rows = await system.rows(
            "SELECT id, status FROM messages WHERE id IN (:a, :b)", a=draft["id"], b=staff_reply.id
        )
        statuses = {str(row["id"]): row["status"] for row in rows}
        # "sending" is the committed attempt before the provider's answer: not settled yet.
        return statuses if not {"pending", "sending"} & set(statuses.values()) else None

    statuses = await eventually(settled)
    assert statuses[str(draft["id"])] == "cancelled"
    assert statuses[str(staff_reply.id)] == "sent"


async def test_one_tenant_s_knowledge_never_answers_another_tenant_s_guest(
    system: System, make_tenant: MakeTenant
) -> None:
    tenant_a = await system.tenant(make_tenant)
    tenant_b = await system.tenant(make_tenant)
    async with system.uow_factory(tenant_b.tenant_id) as uow:
        assert await uow.knowledge.delete_item(key="opening-hours")
        await uow.commit()

    answered = await system.decided(await tenant_a.say(QUESTION))
    assert answered["ai_decision"] == "reply"

    # Tenant B's guest asks the same; only tenant A knows the answer.
    asked = await system.decided(await tenant_b.say(QUESTION))
    assert asked["ai_decision"] == "escalate"
    assert all(OPENING_HOURS not in (r["content"] or "") for r in await system.replies(asked["id"]))


COMPLAINT = "The waiter was rude and the bill was wrong. I want to speak to a manager."


async def first_alert(system: System, message_id: object) -> dict[str, object]:
    async def alerted() -> dict[str, object] | None:
        rows = await system.notifications(message_id)
        return rows[0] if rows and rows[0]["alerts_sent"] >= 1 else None

    return await eventually(alerted)


async def test_staff_are_re_alerted_until_they_acknowledge_through_the_link(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    message = await system.decided(await guest.say(COMPLAINT))
    notification = await first_alert(system, message["id"])

    # The reminder falls due: a second alert goes out, saying it is a reminder.
    await system.rows(
        "UPDATE staff_notifications SET next_alert_at = now() WHERE id = :n RETURNING id",
        n=notification["id"],
    )

    async def reminded() -> bool:
        [row] = await system.notifications(message["id"])
        return row["alerts_sent"] == 2

    await eventually(reminded)
    alerts = [
        entry["body"]["text"]
        for entry in system.sent_to_provider("staff_webhook")
        if "speak to a manager" in entry["body"]["text"]
    ]
    assert len(alerts) == 2
    assert "reminder 1" in alerts[1]

    ack_path = alerts[1].split("Acknowledge: ", 1)[1].split(system.settings.public_base_url, 1)[1]
    # Opening the link (as a chat's link preview does) shows a page and changes nothing.
    assert (await system.http.get(ack_path.strip())).status_code == 200
    assert (await system.http.post(ack_path.strip())).status_code == 200

    async def acknowledged() -> dict[str, object] | None:
        [row] = await system.notifications(message["id"])
        return row if row["status"] == "acknowledged" else None

    row = await eventually(acknowledged)
    assert row["acknowledged_at"] is not None
    assert row["next_alert_at"] is None


async def test_a_send_the_provider_refuses_is_failed_and_escalated(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    # The channel's API now answers 404 for every send: a permanent refusal.
    async with system.uow_factory(guest.tenant_id) as uow:
        [channel] = await uow.channels.list_all()
        channel_id = channel.id
        route = await uow.channels.route(channel_id=channel_id)
        assert route is not None
    await system.rows(
        "UPDATE channels SET credentials_encrypted = :c WHERE id = :id RETURNING id",
        c=system.cipher.encrypt_json(
            {**route.credentials, "api_base_url": f"{system.stand_in_url}/no-such-provider"}
        ),
        id=channel_id,
    )
    message = await system.decided(await guest.say(QUESTION))

    async def failed() -> dict[str, object] | None:
        replies = await system.replies(message["id"])
        return replies[0] if replies and replies[0]["status"] == "failed" else None

    reply = await eventually(failed)
    assert reply["error"]

    async def escalated() -> list[dict[str, object]]:
        return await system.rows(
            "SELECT * FROM staff_notifications WHERE message_id = :m AND type = 'delivery_failed'",
            m=reply["id"],
        )

    [notification] = await eventually(escalated)
    assert notification["conversation_id"] == message["conversation_id"]
