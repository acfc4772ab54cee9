"""The SLA sweeper on an injected clock: a warning at the policy's share of a target, then the
breach at the target with an sla_breach staff notification and a raised priority, each recorded
once: across a restart of the sweeper, a sweep that failed half-way, and two sweepers at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from persistence.models import ConversationEvent, StaffNotification
from persistence.uow import UnitOfWorkFactory
from tests.service_levels.conftest import MakeDesk, SweeperAt, local
from workers.consumers import escalation


async def test_a_warning_then_a_breach_each_recorded_once_across_restarts(
    desk: MakeDesk, sweeper_at: SweeperAt, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk(resolution_minutes=None)
    conversation_id = await hotel.write("Is the spa open?", local(2030, 1, 7, 10))

    assert (
        await sweeper_at(local(2030, 1, 7, 10, 47)).check(
            tenant_id=hotel.tenant_id, conversation_id=conversation_id
        )
        == 0
    )  # nothing due yet
    assert (
        await sweeper_at(local(2030, 1, 7, 10, 48)).check(
            tenant_id=hotel.tenant_id, conversation_id=conversation_id
        )
        == 1
    )
    assert await hotel.counts(conversation_id) == {
        "warnings": {"first_response": 1},
        "breaches": {},
        "notifications": 0,
    }
    warned = await hotel.conversation(conversation_id)
    assert warned.sla_next_check_at == local(2030, 1, 7, 11)
    assert warned.priority == "normal"

    # A new sweeper (the process restarted) at the deadline, and again later.
    for instant in (local(2030, 1, 7, 11), local(2030, 1, 7, 11), local(2030, 1, 8, 9)):
        await sweeper_at(instant).check(tenant_id=hotel.tenant_id, conversation_id=conversation_id)
    assert await hotel.counts(conversation_id) == {
        "warnings": {"first_response": 1},
        "breaches": {"first_response": 1},
        "notifications": 1,
    }
    breached = await hotel.conversation(conversation_id)
    assert breached.priority == "high"
    assert breached.sla_next_check_at is None
    async with uow_factory(hotel.tenant_id) as uow:
        notification = (
            await uow.session.execute(
                select(StaffNotification.status, StaffNotification.detail).where(
                    StaffNotification.conversation_id == conversation_id
                )
            )
        ).one()
        trail = (
            await uow.session.execute(
                select(ConversationEvent.kind, ConversationEvent.to_value)
                .where(ConversationEvent.conversation_id == conversation_id)
                .where(ConversationEvent.kind.like("sla_%"))
                .order_by(ConversationEvent.created_at)
            )
        ).all()
    assert notification[0] == "pending"
    assert "first response" in notification[1]
    assert [tuple(row) for row in trail] == [
        ("sla_warning", "first_response"),
        ("sla_breach", "first_response"),
    ]


async def test_a_sweep_that_fails_half_way_records_nothing_and_the_next_records_once(
    desk: MakeDesk, sweeper_at: SweeperAt, monkeypatch: pytest.MonkeyPatch
) -> None:
    hotel = await desk(resolution_minutes=None, warning_percent=None)
    conversation_id = await hotel.write("Towels please", local(2030, 1, 7, 10))
    due = local(2030, 1, 7, 11)

    async def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the process died while notifying")

    with monkeypatch.context() as patched:
        patched.setattr(escalation, "request", crash)
        with pytest.raises(RuntimeError):
            await sweeper_at(due).check(tenant_id=hotel.tenant_id, conversation_id=conversation_id)
    assert await hotel.counts(conversation_id) == {
        "warnings": {},
        "breaches": {},
        "notifications": 0,
    }
    await sweeper_at(due).check(tenant_id=hotel.tenant_id, conversation_id=conversation_id)
    await sweeper_at(due).check(tenant_id=hotel.tenant_id, conversation_id=conversation_id)
    assert await hotel.counts(conversation_id) == {
        "warnings": {},
        "breaches": {"first_response": 1},
        "notifications": 1,
    }


async def test_two_sweepers_at_once_record_one_breach_per_target(
    desk: MakeDesk, sweeper_at: SweeperAt
) -> None:
    hotel = await desk(first_response_minutes=30, resolution_minutes=60, warning_percent=50)
    conversations = [
        await hotel.write("Hi", local(2030, 1, 7, 10), guest=f"+3461200{n:04d}") for n in range(4)
    ]
    late = local(2030, 1, 7, 12)
    # Both sweep every due conversation of the database (other tests' too) at the same time.
    await asyncio.gather(sweeper_at(late).run_due(batch=1000), sweeper_at(late).run_due(batch=1000))
    for conversation_id in conversations:
        assert await hotel.counts(conversation_id) == {
            "warnings": {"first_response": 1, "resolution": 1},
            "breaches": {"first_response": 1, "resolution": 1},
            "notifications": 2,
        }
        assert (await hotel.conversation(conversation_id)).sla_next_check_at is None


async def test_a_paused_conversation_is_not_breached_while_it_waits_on_the_guest(
    desk: MakeDesk, sweeper_at: SweeperAt, uow_factory: UnitOfWorkFactory
) -> None:
    from workers.api.commands import inbox as commands

    hotel = await desk(resolution_minutes=None, warning_percent=None)
    conversation_id = await hotel.write("Which room?", local(2030, 1, 7, 10))
    async with uow_factory(hotel.tenant_id) as uow:
        conversation = await uow.conversations.get(conversation_id=conversation_id)
        assert conversation is not None
        await commands.set_status(
            uow,
            conversation=conversation,
            status="snoozed",
            snoozed_until=local(2030, 1, 8, 9),
            actor_user_id=None,
            now=local(2030, 1, 7, 10, 30),
        )
        await uow.commit()
    assert (
        await sweeper_at(local(2030, 1, 7, 12)).check(
            tenant_id=hotel.tenant_id, conversation_id=conversation_id
        )
        == 0
    )
    await hotel.write("Room 12", local(2030, 1, 8, 9))
    resumed = await hotel.conversation(conversation_id)
    assert resumed.first_response_due_at == local(2030, 1, 8, 9, 30)
    await sweeper_at(local(2030, 1, 8, 9, 30)).check(
        tenant_id=hotel.tenant_id, conversation_id=conversation_id
    )
    assert (await hotel.counts(conversation_id))["breaches"] == {"first_response": 1}
