"""A webhook the ingress answered 200 ends stored as the guest wrote it: characters PostgreSQL
refuses, edits, and data the database refuses anyway (dead-lettered at once, with the cause)."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import aio_pika

from domain.events import InboundMessageReceived, Provider
from tests.conftest import MakeTenant
from tests.pipeline.conftest import GuestChannel, System, eventually
from workers.consumers import intake
from workers.ops.dead_letters import Action, Selection, sweep
from workers.runtime import headers
from workers.runtime.errors import DeadLetterReason
from workers.runtime.publisher import Publisher
from workers.webhook_samples import Webhook

QUESTION = "What are your opening hours?"


def with_payload(webhook: Webhook, change: Any) -> Webhook:
    """The Telegram webhook with its JSON body changed by ``change(payload)``."""
    payload = json.loads(webhook.body)
    change(payload)
    return Webhook(
        webhook.path, webhook.headers, json.dumps(payload).encode(), webhook.provider_message_id
    )


def edit_of(guest: GuestChannel, webhook: Webhook, text: str, *, edit_date: int) -> Webhook:
    """Telegram's ``edited_message`` update for the message ``webhook`` carried."""
    payload = json.loads(webhook.body)
    message = {**payload["message"], "text": text, "edit_date": edit_date}
    edit = {"update_id": payload["update_id"] + 500_000_000, "edited_message": message}
    return Webhook(
        webhook.path, webhook.headers, json.dumps(edit).encode(), webhook.provider_message_id
    )


async def post_ok(guest: GuestChannel, webhook: Webhook) -> None:
    response = await guest.post(webhook)
    assert response.status_code == 200, response.text


async def test_nul_in_the_text_and_the_name_is_stored_without_it(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)

    def poison(payload: dict[str, Any]) -> None:
        payload["message"]["text"] = "Is breakfast\u0000 included?"
        payload["message"]["from"]["first_name"] = "Al\u0000ex"
        payload["message"]["chat"]["first_name"] = "Al\u0000ex"

    webhook = with_payload(guest.webhook("placeholder", guest=11), poison)
    await post_ok(guest, webhook)

    async def stored() -> list[dict[str, Any]]:
        return await system.inbound(webhook)

    [message] = await eventually(stored)
    assert message["content"] == "Is breakfast included?"
    [row] = await system.rows(
        "SELECT g.full_name FROM guests g JOIN conversations c ON c.guest_id = g.id"
        " WHERE c.id = :c",
        c=message["conversation_id"],
    )
    assert row["full_name"] == "Alex"
    [audit] = await system.rows(
        "SELECT payload FROM comms_events WHERE message_id = :m", m=message["id"]
    )
    assert audit["payload"]["message"]["text"] == "Is breakfast included?"


async def test_an_edit_of_a_message_nobody_answered_is_decided_again(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    original = await guest.say("Blorf quazzle wibbet?", guest=12)
    first = await system.decided(original)
    assert first["ai_decision"] == "escalate", first["ai_decision_reason"]

    await post_ok(guest, edit_of(guest, original, QUESTION, edit_date=first_time(first) + 60))

    async def replied() -> dict[str, Any] | None:
        [row] = await system.inbound(original)
        return row if row["ai_decision"] == "reply" else None

    message = await eventually(replied)
    assert message["content"] == QUESTION
    assert message["edited_at"] is not None
    assert message["id"] == first["id"]  # one message, edited: not a second one

    async def sent() -> list[dict[str, Any]]:
        replies = await system.replies(message["id"])
        return replies if replies and replies[0]["status"] == "sent" else []

    assert len(await eventually(sent)) == 1


async def test_an_edit_after_the_answer_went_out_is_stored_and_not_answered_twice(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    original = await guest.say(QUESTION, guest=13)
    message = await system.decided(original)

    async def sent() -> list[dict[str, Any]]:
        replies = await system.replies(message["id"])
        return replies if replies and replies[0]["status"] == "sent" else []

    await eventually(sent)
    edited_text = "What are your opening hours on Sunday?"
    await post_ok(guest, edit_of(guest, original, edited_text, edit_date=first_time(message) + 5))

    async def edited() -> dict[str, Any] | None:
        [row] = await system.inbound(original)
        return row if row["content"] == edited_text else None

    row = await eventually(edited)
    assert row["edited_at"] is not None
    # The edit was committed with everything intake emitted for it: nothing new was accepted.
    accepted = await system.rows(
        "SELECT count(*) AS n FROM outbox WHERE event_type = 'message.accepted'"
        " AND payload->>'message_id' = :m",
        m=str(message["id"]),
    )
    assert accepted[0]["n"] == 1
    assert len(await system.replies(message["id"])) == 1


async def test_an_older_edit_arriving_late_does_not_undo_a_newer_one(
    system: System, make_tenant: MakeTenant
) -> None:
    guest = await system.tenant(make_tenant)
    original = await guest.say("Blorf quazzle wibbet?", guest=14)
    first = await system.decided(original)
    base = first_time(first)
    await post_ok(guest, edit_of(guest, original, "Second edit", edit_date=base + 20))
    older = edit_of(guest, original, "First edit", edit_date=base + 10)
    older = with_payload(older, lambda p: p.update(update_id=p["update_id"] + 1))
    await post_ok(guest, older)

    async def both_recorded() -> bool:
        rows = await system.rows(
            "SELECT count(*) AS n FROM comms_events WHERE message_id = :m", m=first["id"]
        )
        return rows[0]["n"] == 3

    await eventually(both_recorded)
    [row] = await system.inbound(original)
    assert row["content"] == "Second edit"


def first_time(message: dict[str, Any]) -> int:
    return int(message["sent_at"].timestamp())


async def test_data_the_database_refuses_is_dead_lettered_at_once_with_its_cause(
    system: System, make_tenant: MakeTenant
) -> None:
    # An event queued by a parser that let a NUL through (or any value PostgreSQL refuses):
    # retrying cannot help, so it goes to the dead letters on its first attempt.
    guest = await system.tenant(make_tenant)
    [channel] = await system.rows("SELECT id FROM channels WHERE tenant_id = :t", t=guest.tenant_id)
    marker = f"refused-{uuid4().hex}"
    event = InboundMessageReceived(
        tenant_id=guest.tenant_id,
        provider=Provider.TELEGRAM,
        channel_id=channel["id"],
        provider_event_id=marker,
        provider_message_id=marker,
        sender_handle="4242",
        text="nul \u0000 inside",
    )
    publisher = Publisher(system.settings.amqp_url, system.settings.exchange)
    try:
        await publisher.publish_many([event])
    finally:
        await publisher.close()

    queues = intake.consumer().queues(system.settings.exchange)

    async def dead_lettered() -> list[aio_pika.abc.AbstractIncomingMessage]:
        connection = await aio_pika.connect(system.settings.amqp_url)
        try:
            channel_ = await connection.channel(publisher_confirms=True)
            result = await sweep(channel_, queues, Selection(), Action.LIST)
        finally:
            await connection.close()
        return [m for m in result.matched if marker.encode() in m.body]

    [letter] = await eventually(dead_lettered)
    assert letter.headers[headers.REASON] == DeadLetterReason.INVALID_DATA
    assert headers.attempt_of(letter.headers) <= 1
    assert "CharacterNotInRepertoire" in str(letter.headers[headers.ERROR]) or "0x00" in str(
        letter.headers[headers.ERROR]
    )
    stored = await system.rows("SELECT 1 FROM messages WHERE provider_message_id = :p", p=marker)
    assert stored == []
