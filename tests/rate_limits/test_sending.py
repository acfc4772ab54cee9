"""The dispatcher keeps each channel to its provider's send limits: a throttled channel's sends
wait in ``pending`` while other channels' go at once, and dispatchers side by side never
exceed a limit together (the clock is the rig's, moved by the tests)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from domain.events import Provider
from tests.dispatch.conftest import Desk, Rig
from tests.providers.fake_provider import Answer
from workers.dispatch.throttle import provider_limits


def answers(count: int) -> list[Answer]:
    """Answers any of Twilio, WhatsApp Cloud and Telegram read as a send taken, each its id."""
    return [
        Answer(
            200,
            {
                "sid": f"SM{n:032x}",
                "status": "queued",
                "messaging_product": "whatsapp",
                "messages": [{"id": f"wamid.rate-{n}"}],
                "ok": True,
                "result": {"message_id": 9000 + n, "chat": {"id": 993903016}},
            },
        )
        for n in range(count)
    ]


async def statuses(desk: Desk, message_ids: list[UUID]) -> list[str]:
    return [(await desk.row(m))["status"] for m in message_ids]


async def set_rate(rig: Rig, desk: Desk, per_second: str) -> None:
    async with rig.uow_factory(desk.tenant.tenant_id) as uow:
        channel = await uow.channels.get(channel_id=desk.tenant.channel_id)
        assert channel is not None
        channel.sends_per_second = Decimal(per_second)
        await uow.commit()


async def test_a_throttled_channel_never_holds_up_another_channels_reply(rig: Rig) -> None:
    """Forty replies due on a Twilio number (one a second) before one on a WhatsApp number:
    a sweep smaller than the backlog sends the WhatsApp reply and one Twilio reply; the other
    Twilio replies stay pending, untouched, and go one a second, oldest first."""
    slow = await rig.desk(Provider.TWILIO_SMS)
    backlog = [await slow.draft(f"Reply {n}") for n in range(40)]
    fast = await rig.desk(Provider.WHATSAPP_CLOUD)
    reply = await fast.draft("Your table is ready.")
    rig.provider.script.extend(answers(100))
    dispatcher = rig.dispatcher(send_limits=provider_limits)

    outcomes = await dispatcher.dispatch_due(batch=30)

    assert (await fast.row(reply))["status"] == "sent"
    assert await statuses(slow, backlog) == ["sent"] + ["pending"] * 39
    assert "throttled" in {o.status for o in outcomes}
    waiting = await slow.row(backlog[1])
    assert (waiting["attempts"], waiting["send_attempt_id"], waiting["error"]) == (0, None, None)

    await dispatcher.dispatch_due(batch=30)  # no time has passed: nothing more goes
    assert (await statuses(slow, backlog)).count("sent") == 1
    rig.clock.advance(timedelta(seconds=1))
    await dispatcher.dispatch_due(batch=30)
    assert await statuses(slow, backlog) == ["sent"] * 2 + ["pending"] * 38
    assert len(rig.sends(Provider.TWILIO_SMS)) == 2


async def test_two_dispatchers_never_exceed_a_channels_limit_together(rig: Rig) -> None:
    desk = await rig.desk(Provider.TWILIO_SMS)
    await set_rate(rig, desk, "3")  # the channel's own rate: 3 a second
    drafted = [await desk.draft(f"Answer {n}") for n in range(20)]
    rig.provider.script.extend(answers(40))
    first = rig.dispatcher(send_limits=provider_limits)
    second = rig.dispatcher(send_limits=provider_limits)

    await asyncio.gather(first.dispatch_due(), second.dispatch_due(), first.dispatch_due())
    assert (await statuses(desk, drafted)).count("sent") == 3

    rig.clock.advance(timedelta(seconds=2))
    await asyncio.gather(first.dispatch_due(), second.dispatch_due(), second.dispatch_due())
    assert (await statuses(desk, drafted)).count("sent") == 6  # a full bucket holds 3
    assert len(rig.sends(Provider.TWILIO_SMS)) == 6


async def test_telegram_sends_one_a_second_to_a_chat_and_other_chats_go_at_once(
    rig: Rig,
) -> None:
    """Thirty replies due to one chat (more than a sweep takes of a channel) before one to
    another chat of the same bot: the other chat's reply goes in the first sweep."""
    desk = await rig.desk(Provider.TELEGRAM)
    to_first = [await desk.draft(f"Step {n}") for n in range(30)]
    async with rig.uow_factory(desk.tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="telegram", handle="555000111")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=desk.tenant.channel_id, at=datetime.now(UTC)
        )
        await uow.commit()
    other = Desk(desk.tenant, desk.kind, "555000111", conversation.id, rig.owner, rig.uow_factory)
    to_other = await other.draft("Welcome!")
    rig.provider.script.extend(answers(10))
    dispatcher = rig.dispatcher(send_limits=provider_limits)

    await dispatcher.dispatch_due()

    assert await statuses(desk, to_first) == ["sent"] + ["pending"] * 29
    assert (await other.row(to_other))["status"] == "sent"
    rig.clock.advance(timedelta(seconds=1))
    await dispatcher.dispatch_due()
    assert await statuses(desk, to_first) == ["sent"] * 2 + ["pending"] * 28
