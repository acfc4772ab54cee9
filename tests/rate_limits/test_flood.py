"""Inbound rate limit through the real pipeline (ingress, RabbitMQ, consumers, dispatcher, the
provider stand-in): a guest's flood, and two auto-responders answering each other, stop the
auto-replies at the tenant's limit; every message is stored and decided; staff hear of it
once; the inbox shows why.

The limit latches until a whole minute's allowance has built up again, so the wall clock these
end-to-end tests run on cannot let a message through mid-test (``tests/rate_limits/
test_buckets.py`` moves time by hand)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import httpx

from tests.api.conftest import MakeStaff
from tests.conftest import MakeTenant
from tests.pipeline.conftest import GuestChannel, System
from tests.support.waiting import eventually

QUESTION = "What are your opening hours?"
FLOOD_TITLE = "A guest is sending a flood of messages"


def rate_limited(message: dict[str, Any]) -> bool:
    reason = str(message["ai_decision_reason"] or "")
    return message["ai_decision"] == "skip" and reason.startswith("rate_limited")


async def flood_escalations(system: System, guest: GuestChannel) -> int:
    """Flood alerts staged with the decisions: final once every message is decided (each
    decision commits with its outbox rows), unlike the notifications a consumer writes later."""
    rows = await system.rows(
        "SELECT count(*) AS n FROM outbox WHERE tenant_id = :t"
        " AND event_type = 'escalation.requested' AND payload->>'reason' = 'rate_limited'",
        t=guest.tenant_id,
    )
    return int(rows[0]["n"])


async def flood_alerts(system: System, guest: GuestChannel) -> list[dict[str, Any]]:
    return await system.rows(
        "SELECT * FROM staff_notifications WHERE tenant_id = :t AND type = 'rate_limited'",
        t=guest.tenant_id,
    )


def staff_webhook(system: System) -> list[dict[str, Any]]:
    return system.sent_to_provider("staff_webhook")


async def test_a_flood_stops_auto_replies_stores_every_message_and_alerts_staff_once(
    system: System, make_tenant: MakeTenant, api: httpx.AsyncClient, make_staff: MakeStaff
) -> None:
    guest = await system.tenant(make_tenant, inbound_messages_per_minute=3)
    webhooks = [await guest.say(QUESTION, guest=4) for _ in range(8)]

    decided = [await system.decided(webhook) for webhook in webhooks]

    assert len({m["id"] for m in decided}) == 8  # every message stored
    held_back = [m for m in decided if rate_limited(m)]
    answered = [m for m in decided if not rate_limited(m)]
    assert len(held_back) == 5
    assert [m["ai_decision"] for m in answered] == ["reply"] * 3
    for message in held_back:
        assert await system.replies(message["id"]) == []
    assert await flood_escalations(system, guest) == 1
    [alert] = await eventually(partial(flood_alerts, system, guest), "the flood alert")
    conversation_id = decided[0]["conversation_id"]
    assert alert["conversation_id"] == conversation_id
    assert alert["message_id"] in {m["id"] for m in held_back}
    assert "3 messages a minute" in alert["detail"]

    async def alerted() -> list[dict[str, Any]]:
        return [row for row in await flood_alerts(system, guest) if row["alerts_sent"] == 1]

    await eventually(alerted, "the flood alert sent to staff")
    assert any(FLOOD_TITLE in entry["body"]["text"] for entry in staff_webhook(system))

    admin = await make_staff(guest.tenant_id, roles=("admin",))
    page = await api.get(
        f"/api/v1/conversations/{conversation_id}/messages?limit=50", headers=admin.headers
    )
    assert page.status_code == 200, page.text
    shown = [m["decision"] for m in page.json()["items"] if m["direction"] == "inbound"]
    assert len(shown) == 8
    reasons = [d["reason"] for d in shown if d["decision"] == "skip"]
    assert len(reasons) == 5
    assert all(r.startswith("rate_limited") for r in reasons)


async def test_two_auto_responders_answering_each_other_stop_at_the_limit(
    system: System, make_tenant: MakeTenant
) -> None:
    """The guest's side is another bot: it answers every reply of ours with a question. The
    loop ends when our limit (4 a minute) holds a message back, and staff hear of it once."""
    guest = await system.tenant(make_tenant, inbound_messages_per_minute=4)
    written = [await guest.say(QUESTION, guest=5)]
    chat_id = written[0].provider_message_id.split(":")[0]

    async def replies_in_chat() -> int:
        return sum(
            1
            for entry in system.sent_to_provider("telegram")
            if str(entry["body"].get("chat_id")) == chat_id
        )

    for _ in range(10):  # a loop that never stops fails here instead of running forever
        last = await system.decided(written[-1])
        if rate_limited(last):
            break
        assert last["ai_decision"] == "reply", last["ai_decision_reason"]
        await eventually(_count_at_least(replies_in_chat, len(written)), "our reply")
        written.append(await guest.say(QUESTION, guest=5))  # the other bot answers it

    assert len(written) == 5
    assert await replies_in_chat() == 4
    assert await flood_escalations(system, guest) == 1
    alerts = await eventually(partial(flood_alerts, system, guest), "the flood alert")
    assert len(alerts) == 1


def _count_at_least(
    count: Callable[[], Awaitable[int]], at_least: int
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await count() >= at_least

    return check
