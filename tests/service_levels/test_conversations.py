"""Service levels on real conversations: the policy applied when a guest writes (its targets
copied), business hours and holidays from the database, the clock paused while the conversation
waits on the guest and stopped on resolve, staff and bot replies, and next-response targets."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import update

from persistence.models import Holiday, SlaPolicy, Team
from persistence.uow import UnitOfWorkFactory
from tests.service_levels.conftest import MakeDesk, local
from workers.api.commands import inbox as commands


async def test_a_guest_message_applies_the_first_matching_policy_and_copies_its_terms(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk(name="Anything", position=50)
    async with uow_factory(hotel.tenant_id) as uow:
        await uow.configuration.add(
            SlaPolicy, name="Urgent only", priorities=["urgent"], first_response_minutes=5
        )
        elsewhere = await uow.configuration.add(
            SlaPolicy, name="Other place", property_ids=[uuid.uuid4()], first_response_minutes=1
        )
        mine = await uow.configuration.add(
            SlaPolicy,
            name="Our channel",
            position=60,
            channel_ids=[hotel.tenant.channel_id],
            first_response_minutes=15,
        )
        await uow.commit()
    conversation_id = await hotel.write("Is breakfast included?", local(2030, 1, 7, 10))
    row = await hotel.conversation(conversation_id)
    assert row.sla_policy_id == hotel.policy_id  # position 50 comes before 60 and the default
    assert (row.sla_first_response_minutes, row.sla_next_response_minutes) == (60, 30)
    assert (row.sla_resolution_minutes, row.sla_clock, row.sla_warning_percent) == (
        480,
        "calendar",
        80,
    )
    assert row.first_response_due_at == local(2030, 1, 7, 11)
    assert row.sla_first_response_warn_at == local(2030, 1, 7, 10, 48)
    assert row.resolution_due_at == local(2030, 1, 7, 18)
    assert row.next_response_due_at is None
    assert row.sla_next_check_at == local(2030, 1, 7, 10, 48)
    assert {elsewhere.id, mine.id}.isdisjoint({row.sla_policy_id})


async def test_without_a_matching_policy_no_clock_runs(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk(priorities=["urgent"])
    row = await hotel.conversation(await hotel.write("Hello", local(2030, 1, 7, 10)))
    assert (row.sla_policy_id, row.first_response_due_at, row.sla_next_check_at) == (
        None,
        None,
        None,
    )


async def test_a_business_hours_clock_skips_the_night_the_weekend_and_a_holiday(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk(clock="business_hours", resolution_minutes=600)
    await hotel.hours(*((day, time(9), time(17)) for day in range(1, 6)))
    async with uow_factory(hotel.tenant_id) as uow:
        await uow.configuration.add(Holiday, day=date(2030, 1, 8), name="Local feast")
        await uow.commit()
    # Monday 16:30: 30 minutes today, Tuesday is a holiday, 30 more on Wednesday morning.
    row = await hotel.conversation(await hotel.write("Late check-out?", local(2030, 1, 7, 16, 30)))
    assert row.sla_clock == "business_hours"
    assert row.first_response_due_at == local(2030, 1, 9, 9, 30)
    assert row.sla_first_response_warn_at == local(2030, 1, 9, 9, 18)
    assert row.resolution_due_at == local(2030, 1, 10, 10, 30)  # 30 + 480 + 90 minutes


async def test_an_overnight_shift_counts_past_midnight(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk(clock="business_hours", resolution_minutes=None)
    await hotel.hours((1, time(22), time(6)), overnight=True)  # Monday night
    row = await hotel.conversation(await hotel.write("Noise next door", local(2030, 1, 7, 23)))
    assert row.first_response_due_at == local(2030, 1, 8, 0)
    late = await hotel.conversation(
        await hotel.write("Still noisy", local(2030, 1, 8, 5, 30), guest="+34612000999")
    )
    assert late.first_response_due_at == local(2030, 1, 14, 22, 30)  # 30 now, 30 next Monday


async def test_a_team_with_hours_of_its_own_counts_on_them(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    from persistence.models import BusinessHours

    hotel = await desk(clock="business_hours")
    await hotel.hours((1, time(9), time(17)))
    async with uow_factory(hotel.tenant_id) as uow:
        team = await uow.configuration.add(Team, name="Night desk")
        await uow.configuration.add(
            BusinessHours,
            team_id=team.id,
            weekday=1,
            opens_at=time(20),
            closes_at=time(8),
            overnight=True,
        )
        await uow.commit()
    async with uow_factory(hotel.tenant_id) as uow:
        team_calendar = await uow.service_levels.calendar(
            property_id=hotel.tenant.property_id, team_id=team.id
        )
        property_calendar = await uow.service_levels.calendar(
            property_id=hotel.tenant.property_id, team_id=None
        )
    assert team_calendar is not None
    assert property_calendar is not None
    assert [s.opens_at for s in team_calendar.shifts] == [time(20)]
    assert [s.opens_at for s in property_calendar.shifts] == [time(9)]
    assert team_calendar.timezone == "Europe/Madrid"


async def test_waiting_on_the_guest_pauses_the_clock_and_their_answer_resumes_it(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk()
    conversation_id = await hotel.write("Can I bring my dog?", local(2030, 1, 7, 10))
    async with uow_factory(hotel.tenant_id) as uow:
        conversation = await uow.conversations.get(conversation_id=conversation_id)
        assert conversation is not None
        await commands.set_status(
            uow,
            conversation=conversation,
            status="pending",
            actor_user_id=None,
            now=local(2030, 1, 7, 10, 20),
        )
        await uow.commit()
    paused = await hotel.conversation(conversation_id)
    assert (paused.first_response_due_at, paused.resolution_due_at) == (None, None)
    assert paused.sla_first_response_left == timedelta(minutes=40)
    assert paused.sla_resolution_left == timedelta(minutes=460)
    assert paused.sla_next_check_at is None

    await hotel.write("It is a small dog", local(2030, 1, 7, 12))
    resumed = await hotel.conversation(conversation_id)
    assert resumed.status == "open"
    assert resumed.first_response_due_at == local(2030, 1, 7, 12, 40)
    assert resumed.sla_first_response_warn_at == local(2030, 1, 7, 12, 28)
    assert resumed.resolution_due_at == local(2030, 1, 7, 19, 40)
    assert resumed.sla_first_response_left is None


async def test_resolving_stops_every_clock(desk: MakeDesk, uow_factory: UnitOfWorkFactory) -> None:
    hotel = await desk()
    conversation_id = await hotel.write("Thanks, all good", local(2030, 1, 7, 10))
    async with uow_factory(hotel.tenant_id) as uow:
        conversation = await uow.conversations.get(conversation_id=conversation_id)
        assert conversation is not None
        await commands.set_status(
            uow,
            conversation=conversation,
            status="resolved",
            actor_user_id=None,
            now=local(2030, 1, 7, 10, 5),
        )
        await uow.commit()
    row = await hotel.conversation(conversation_id)
    assert (row.first_response_due_at, row.resolution_due_at, row.sla_next_check_at) == (
        None,
        None,
        None,
    )


async def staff_reply(
    uow_factory: UnitOfWorkFactory, tenant_id: uuid.UUID, conversation_id: uuid.UUID, at: datetime
) -> None:
    async with uow_factory(tenant_id) as uow:
        conversation = await uow.conversations.get(conversation_id=conversation_id)
        assert conversation is not None
        await commands.reply(
            uow, conversation=conversation, text="On it!", actor_user_id=None, now=at
        )
        await uow.commit()


async def test_a_staff_reply_meets_the_first_response_and_the_guests_next_message_starts_the_next(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk()
    conversation_id = await hotel.write("Where do I park?", local(2030, 1, 7, 10))
    await staff_reply(uow_factory, hotel.tenant_id, conversation_id, local(2030, 1, 7, 10, 10))
    answered = await hotel.conversation(conversation_id)
    assert (answered.first_response_due_at, answered.sla_first_response_warn_at) == (None, None)
    assert answered.resolution_due_at == local(2030, 1, 7, 18)
    assert answered.sla_next_check_at == local(2030, 1, 7, 16, 24)  # the resolution's warning

    await hotel.write("And is it covered?", local(2030, 1, 7, 11))
    asked = await hotel.conversation(conversation_id)
    assert asked.next_response_due_at == local(2030, 1, 7, 11, 30)
    assert asked.sla_next_check_at == local(2030, 1, 7, 11, 24)
    await staff_reply(uow_factory, hotel.tenant_id, conversation_id, local(2030, 1, 7, 11, 5))
    assert (await hotel.conversation(conversation_id)).next_response_due_at is None


async def bot_reply_sent(
    uow_factory: UnitOfWorkFactory,
    desk_channel: uuid.UUID,
    tenant_id: uuid.UUID,
    conversation_id: uuid.UUID,
    at: datetime,
) -> None:
    """A bot reply drafted, then recorded sent the way the dispatcher records it."""
    async with uow_factory(tenant_id) as uow:
        draft = await uow.outbound.draft(
            conversation_id=conversation_id,
            channel_id=desk_channel,
            content="Parking is free for guests.",
            send_after=at,
        )
        attempt = uuid.uuid4()
        assert await uow.outbound.begin_sends(attempts={draft.id: attempt}, at=at)
        sent = await uow.outbound.record_sent(
            message_id=draft.id,
            attempt_id=attempt,
            provider_message_id=f"bot-{attempt.hex}",
            at=at,
            channel_id=desk_channel,
            provider="telegram",
            to="+34600000000",
        )
        assert sent is not None
        await uow.commit()


async def test_a_bot_reply_meets_a_response_target_only_where_the_policy_says_so(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    strict, lenient = await desk(), await desk(bot_reply_counts=True)
    for hotel in (strict, lenient):
        conversation_id = await hotel.write("Parking?", local(2030, 1, 7, 10))
        await bot_reply_sent(
            uow_factory,
            hotel.tenant.channel_id,
            hotel.tenant_id,
            conversation_id,
            local(2030, 1, 7, 10, 1),
        )
        row = await hotel.conversation(conversation_id)
        assert row.first_response_at is not None  # answered, as far as the inbox goes
        if hotel is strict:
            assert row.first_response_due_at == local(2030, 1, 7, 11)
            assert row.sla_next_check_at == local(2030, 1, 7, 10, 48)
        else:
            assert row.first_response_due_at is None
            assert row.sla_next_check_at == local(2030, 1, 7, 16, 24)
        assert row.resolution_due_at == local(2030, 1, 7, 18)


async def test_editing_a_policy_leaves_an_existing_conversations_targets_alone(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk()
    first = await hotel.write("Hi", local(2030, 1, 7, 10))
    async with uow_factory(hotel.tenant_id) as uow:
        await uow.session.execute(
            update(SlaPolicy)
            .where(SlaPolicy.id == hotel.policy_id)
            .values(first_response_minutes=5, clock="business_hours")
        )
        await uow.commit()
    await hotel.write("Hello again", local(2030, 1, 7, 10, 30))
    kept = await hotel.conversation(first)
    assert (kept.sla_first_response_minutes, kept.sla_clock) == (60, "calendar")
    assert kept.first_response_due_at == local(2030, 1, 7, 11)
    newer = await hotel.conversation(
        await hotel.write("Me too", local(2030, 1, 7, 10), guest="+34612000123")
    )
    assert (newer.sla_first_response_minutes, newer.first_response_due_at) == (
        5,
        local(2030, 1, 7, 10, 5),
    )


async def test_a_business_hours_deadline_across_the_spring_daylight_saving_change(
    desk: MakeDesk,
) -> None:
    # Madrid springs forward on Sunday 31 March 2030 at 02:00: four real hours of the Saturday
    # night shift from 01:00 end at 06:00 on the wall clock, not 05:00; in autumn at 04:00.
    hotel = await desk(clock="business_hours", first_response_minutes=240, resolution_minutes=None)
    await hotel.hours((6, time(22), time(8)), overnight=True)  # Saturday night
    row = await hotel.conversation(await hotel.write("Locked out", local(2030, 3, 31, 1)))
    assert row.first_response_due_at == local(2030, 3, 31, 6)
    assert row.first_response_due_at - local(2030, 3, 31, 1).astimezone(UTC) == timedelta(hours=4)
    autumn = await hotel.conversation(
        await hotel.write("Locked out again", local(2030, 10, 27, 1), guest="+34612000444")
    )
    assert autumn.first_response_due_at == local(2030, 10, 27, 4)  # 03:00 came twice


async def test_a_teams_policy_applies_when_the_conversation_joins_the_team(
    desk: MakeDesk, uow_factory: UnitOfWorkFactory
) -> None:
    hotel = await desk(name="Any", priorities=["urgent"])
    async with uow_factory(hotel.tenant_id) as uow:
        team = await uow.configuration.add(Team, name="Concierge")
        await uow.configuration.add(
            SlaPolicy,
            name="Concierge",
            team_ids=[team.id],
            first_response_minutes=20,
            resolution_minutes=600,
            warning_percent=None,
        )
        await uow.commit()
    waiting = await hotel.write("Theatre tickets?", local(2030, 1, 7, 10))
    answered = await hotel.write("A taxi?", local(2030, 1, 7, 10), guest="+34612000555")
    await staff_reply(uow_factory, hotel.tenant_id, answered, local(2030, 1, 7, 10, 5))
    assert (await hotel.conversation(waiting)).sla_policy_id is None
    for conversation_id in (waiting, answered):
        async with uow_factory(hotel.tenant_id) as uow:
            conversation = await uow.conversations.get(conversation_id=conversation_id)
            assert conversation is not None
            await commands.assign(
                uow,
                conversation=conversation,
                assignee_id=None,
                team_id=team.id,
                actor_user_id=None,
            )
            await uow.commit()
    joined = await hotel.conversation(waiting)
    assert joined.sla_first_response_minutes == 20
    assert joined.first_response_due_at == local(2030, 1, 7, 10, 20)  # from the guest's message
    assert joined.resolution_due_at == local(2030, 1, 7, 20)
    met = await hotel.conversation(answered)
    assert (met.sla_first_response_minutes, met.first_response_due_at) == (20, None)
    assert met.resolution_due_at == local(2030, 1, 7, 20)
