"""Running dialogues: one responder per message, messages of a conversation applied in order
across two worker processes, inactivity timeouts, and version pinning across a publish."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import aio_pika
import pytest

from domain.events import MessageScored
from persistence.demo.flows import TABLE_BOOKING
from persistence.flows import install
from tests.conftest import MakeTenant
from tests.flows.conftest import FlowSystem, eventually
from workers.consumers import autoreply
from workers.consumers.tenant_context import TenantContexts
from workers.dialog.respond import EarlierMessagePending
from workers.scheduler.dialogues import DialogueExpirer

ROOT = Path(__file__).resolve().parents[2]

# Three questions in a row: answers applied out of order land in the wrong variable.
THREE_QUESTIONS: dict[str, Any] = {
    "start": "a",
    "triggers": [{"phrases": ["start the quiz"]}],
    "steps": [
        {"id": "a", "type": "ask", "variable": "a", "prompt": "A?", "answer": {"kind": "text"},
         "next": "b"},
        {"id": "b", "type": "ask", "variable": "b", "prompt": "B?", "answer": {"kind": "text"},
         "next": "c"},
        {"id": "c", "type": "ask", "variable": "c", "prompt": "C?", "answer": {"kind": "text"},
         "next": "done"},
        {"id": "done", "type": "end", "message": "{a}{b}{c}"},
    ],
}  # fmt: skip


async def test_a_message_waits_while_an_earlier_one_is_undecided(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    """The ordering rule itself: the autoreply handler refuses (retryable) a message whose
    predecessor in the conversation has no decision, and takes it once that one is decided."""
    tenant = await make_tenant(vertical="restaurant")
    async with flows.system.uow_factory(tenant.tenant_id) as uow:
        await install(uow, name="quiz", flow=THREE_QUESTIONS, at=datetime.now(UTC))
        guest = await uow.guests.upsert_by_identity(kind="telegram", handle=uuid4().hex[:10])
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=datetime.now(UTC)
        )
        stored = [
            await uow.inbound.add(
                conversation_id=conversation.id,
                channel_id=tenant.channel_id,
                provider_message_id=f"order-{n}-{uuid4().hex}",
                content=text,
                sent_at=datetime.now(UTC) + timedelta(seconds=n),
            )
            for n, text in enumerate(("start the quiz", "first"))
        ]
        await uow.commit()
    first, second = (s.id for s in stored if s is not None)
    contexts = TenantContexts(ttl=0.0)

    async def decide(message_id: Any) -> None:
        fields: dict[str, Any] = {
            "tenant_id": tenant.tenant_id,
            "conversation_id": conversation.id,
            "message_id": message_id,
            "sentiment_score": 0.0,
            "sentiment_label": "neutral",
        }
        if "requires_attention" in MessageScored.model_fields:
            fields["requires_attention"] = False
        event = MessageScored.model_validate(fields)
        async with flows.system.uow_factory(tenant.tenant_id) as uow:
            await autoreply.handle(event, uow, contexts=contexts)
            await uow.commit()

    with pytest.raises(EarlierMessagePending):
        await decide(second)
    await decide(first)
    await decide(second)
    state = await flows.dialog(conversation.id)
    assert (state["current_step"], state["collected"]) == ("b", {"a": "first", **_builtins(state)})


def _builtins(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in state["collected"].items() if k in ("guest_name", "channel")}


async def spawn_autoreply(flows: FlowSystem, log: Path) -> asyncio.subprocess.Process:
    settings = flows.system.settings
    env = {
        **os.environ,
        "FRONTDESK_DATABASE_URL": settings.database_url,
        "FRONTDESK_MIGRATION_DATABASE_URL": settings.migration_database_url,
        "FRONTDESK_AMQP_URL": settings.amqp_url,
        "FRONTDESK_EXCHANGE": settings.exchange,
        "FRONTDESK_DB_SCHEMA": settings.db_schema,
        "FRONTDESK_WORKER_BATCH_SIZE": "1",
        "FRONTDESK_LOG_JSON": "true",
    }
    with log.open("ab") as output:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "workers", "worker", "autoreply", "--concurrency", "8",
            cwd=ROOT, env=env, stdout=output, stderr=output,
        )  # fmt: skip


async def autoreply_consumers(flows: FlowSystem, *, at_least: int) -> bool:
    """Whether the autoreply queue has ``at_least`` consumers (this process's and the other)."""
    connection = await aio_pika.connect(flows.system.settings.amqp_url)
    try:
        channel = await connection.channel()
        name = f"{flows.system.settings.exchange}.{autoreply.NAME}"
        queue = await channel.declare_queue(name, passive=True)
        return (queue.declaration_result.consumer_count or 0) >= at_least
    finally:
        await connection.close()


async def test_bursts_of_answers_apply_in_order_across_two_worker_processes(
    flows: FlowSystem, make_tenant: MakeTenant, tmp_path: Path
) -> None:
    worker = await spawn_autoreply(flows, tmp_path / "autoreply.log")
    try:
        await eventually(lambda: autoreply_consumers(flows, at_least=2), deadline=60)
        guests = await flows.restaurant(make_tenant, ("quiz", THREE_QUESTIONS))

        async def burst(guest: int) -> list[Any]:
            sent = []
            for text in ("start the quiz", "1", "2", "3"):
                webhook = await guests.say(text, guest=guest)
                sent.append(webhook)

                async def stored(webhook: Any = webhook) -> list[dict[str, Any]]:
                    return await flows.system.inbound(webhook)

                await eventually(stored)  # a second apart: the previous one is in
            return sent

        bursts = await asyncio.gather(*(burst(guest) for guest in range(2, 8)))
        for sent in bursts:
            # A message that found an earlier one undecided is redelivered through the retry
            # tiers (1 s, 10 s, 60 s): order is what is tested here, so wait past them.
            decided = [await flows.system.decided(webhook, deadline=90) for webhook in sent]
            assert [d["ai_decision"] for d in decided] == ["reply"] * 4
            steps = [d["ai_decision_reason"].split()[3] for d in decided]
            assert steps == ["step=a", "step=b", "step=c", "step=done"], steps
            _, last = await flows.reply_to(sent[-1])
            assert last == "123"
        assert '"consuming"' in (tmp_path / "autoreply.log").read_text()
    finally:
        worker.terminate()
        await worker.wait()


async def test_every_message_gets_exactly_one_decision_and_one_reply(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    sent = [await guests.say(text, guest=3) for text in ("book a table", "tomorrow 20:00", "2")]
    sent.append(await guests.say("What time do you open?", guest=4))
    for webhook in sent:
        row = await flows.system.decided(webhook)
        replies = await eventually(lambda row=row: flows.system.replies(row["id"]))
        assert len(replies) == 1
    rows = await flows.system.rows(
        "SELECT m.ai_decision_reason FROM messages m WHERE m.tenant_id = :t"
        " AND m.direction = 'inbound' ORDER BY m.created_at",
        t=guests.tenant_id,
    )
    dialog = [r for r in rows if r["ai_decision_reason"].startswith("dialog ")]
    assert len(dialog) == 3
    assert len(rows) == 4


async def test_an_idle_dialogue_expires_with_its_message(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    row, _ = await flows.reply_to(await guests.say("book a table", guest=5))
    flows.clock.advance(timedelta(minutes=31))
    try:
        row = await flows.system.decided(await guests.say("tomorrow 20:00", guest=5))
    finally:
        flows.clock.advance(timedelta(minutes=-31))
    assert not row["ai_decision_reason"].startswith("dialog")  # the knowledge base decided
    replies = await eventually(lambda: flows.system.replies(row["id"]))
    assert replies[0]["content"].startswith("Your table request timed out.")
    state = await flows.dialog(row["conversation_id"])
    assert (state["status"], state["ended_reason"]) == ("expired", "timeout")


async def test_a_running_dialogue_finishes_on_the_version_it_started_with(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    await flows.reply_to(await guests.say("book a table", guest=6))
    changed = {**TABLE_BOOKING, "steps": [dict(step) for step in TABLE_BOOKING["steps"]]}
    changed["steps"][2]["prompt"] = "How many guests, version two?"
    async with flows.system.uow_factory(guests.tenant_id) as uow:
        published = await install(uow, name="table_booking", flow=changed, at=flows.clock())
        await uow.commit()
    assert published.version.version == 2
    row, reply = await flows.reply_to(await guests.say("tomorrow 20:00", guest=6))
    assert reply == "For how many people?"
    assert row["ai_decision_reason"].startswith("dialog table_booking v1 ")
    row, reply = await flows.reply_to(await guests.say("book a table", guest=7))
    assert row["ai_decision_reason"].startswith("dialog table_booking v2 ")
    _, reply = await flows.reply_to(await guests.say("tomorrow 20:00", guest=7))
    assert reply == "How many guests, version two?"


async def test_taking_over_pauses_the_dialogue_and_handing_back_resumes_it(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    row, _ = await flows.reply_to(await guests.say("book a table", guest=8))
    conversation_id = row["conversation_id"]

    async def takeover(on: bool) -> None:
        async with flows.system.uow_factory(guests.tenant_id) as uow:
            await uow.conversations.set_takeover(conversation_id=conversation_id, human_takeover=on)
            await uow.commit()

    await takeover(True)
    row = await flows.system.decided(await guests.say("tomorrow 20:00", guest=8))
    assert (row["ai_decision"], row["ai_decision_reason"]) == ("skip", "human_takeover")
    assert await flows.system.replies(row["id"]) == []
    assert (await flows.dialog(conversation_id))["current_step"] == "ask_when"
    await takeover(False)
    _, reply = await flows.reply_to(await guests.say("tomorrow 20:00", guest=8))
    assert reply == "For how many people?"


async def test_an_idle_dialogue_is_expired_by_the_scheduler_once_with_its_message(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    row, _ = await flows.reply_to(await guests.say("book a table", guest=8))
    conversation_id = row["conversation_id"]
    uow_factory = flows.system.uow_factory
    not_yet = DialogueExpirer(
        uow_factory=uow_factory, clock=lambda: flows.clock() + timedelta(minutes=29)
    )
    assert await not_yet.expire(tenant_id=guests.tenant_id, conversation_id=conversation_id) == 0
    later = DialogueExpirer(
        uow_factory=uow_factory, clock=lambda: flows.clock() + timedelta(minutes=31)
    )
    # Two schedulers sweeping at once: one expires it and drafts the timeout message.
    done = await asyncio.gather(later.run_due(), later.run_due())
    assert sum(done) >= 1
    assert await later.expire(tenant_id=guests.tenant_id, conversation_id=conversation_id) == 0
    state = await flows.dialog(conversation_id)
    assert (state["status"], state["ended_reason"]) == ("expired", "timeout")
    notices = await flows.system.rows(
        "SELECT content, sender_type FROM messages WHERE conversation_id = :c"
        " AND direction = 'outbound' AND content LIKE 'Your table request timed out.%'",
        c=conversation_id,
    )
    assert [n["sender_type"] for n in notices] == ["bot"]
    # The guest writing afterwards gets no second timeout message: the knowledge base decides.
    flows.clock.advance(timedelta(minutes=31))
    try:
        answer = await flows.system.decided(await guests.say("tomorrow 20:00", guest=8))
    finally:
        flows.clock.advance(timedelta(minutes=-31))
    assert not answer["ai_decision_reason"].startswith("dialog")
    replies = await flows.system.replies(answer["id"])
    assert not [r for r in replies if r["content"].startswith("Your table request timed out.")]


async def test_a_dialogue_paused_by_a_takeover_is_not_expired_by_the_scheduler(
    flows: FlowSystem, make_tenant: MakeTenant
) -> None:
    guests = await flows.restaurant(make_tenant, ("table_booking", TABLE_BOOKING))
    row, _ = await flows.reply_to(await guests.say("book a table", guest=9))
    conversation_id = row["conversation_id"]
    await flows.system.rows(
        "UPDATE conversations SET human_takeover = true WHERE id = :c RETURNING id",
        c=conversation_id,
    )
    later = DialogueExpirer(
        uow_factory=flows.system.uow_factory, clock=lambda: flows.clock() + timedelta(hours=2)
    )
    assert await later.expire(tenant_id=guests.tenant_id, conversation_id=conversation_id) == 0
    assert (await flows.dialog(conversation_id))["status"] == "active"
