"""The domain alone: business minutes added and measured across shift boundaries, split and
overnight shifts, holidays and daylight-saving changes; the targets' state as a conversation is
paused, resumed and answered; which policy applies."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.service_levels import (
    AroundTheClock,
    BusinessCalendar,
    Facts,
    Policy,
    Shift,
    Terms,
    applicable,
    clock_for,
    overlapping_shifts,
    shift_problem,
)
from domain.sla_targets import (
    due_stages,
    follow_status,
    guest_wrote,
    next_check,
    responded,
    start,
)

MADRID = ZoneInfo("Europe/Madrid")
WEEKDAYS_9_TO_17 = tuple(Shift(day, time(9), time(17)) for day in range(1, 6))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


def office(*extra: Shift, holidays: frozenset[date] = frozenset()) -> BusinessCalendar:
    return BusinessCalendar("Europe/Madrid", WEEKDAYS_9_TO_17 + extra, holidays)


def minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def terms(**changes: object) -> Terms:
    values: dict[str, object] = {
        "policy_id": uuid4(),
        "first_response": minutes(60),
        "next_response": minutes(30),
        "resolution": minutes(480),
        "business_hours": True,
        "warning_percent": 80,
        "bot_reply_counts": False,
        **changes,
    }
    return Terms(**values)  # type: ignore[arg-type]


def test_the_calendar_clock_counts_every_minute() -> None:
    clock = AroundTheClock()
    assert clock.add(local(2026, 1, 3, 23, 50), minutes(30)) == local(2026, 1, 4, 0, 20)
    assert clock.between(local(2026, 1, 3, 23), local(2026, 1, 4, 1)) == minutes(120)


def test_a_target_crossing_closing_time_runs_on_when_the_next_shift_opens() -> None:
    # Friday 16:30 + 60 business minutes: 30 on Friday, 30 on Monday morning.
    assert office().add(local(2026, 1, 9, 16, 30), minutes(60)) == local(2026, 1, 12, 9, 30)
    # Started on a Saturday: the clock waits for Monday 09:00.
    assert office().add(local(2026, 1, 10, 10), minutes(15)) == local(2026, 1, 12, 9, 15)
    # Exactly at closing time: the deadline is the closing instant itself.
    assert office().add(local(2026, 1, 9, 16), minutes(60)) == local(2026, 1, 9, 17)


def test_business_time_between_two_instants_skips_nights_and_weekends() -> None:
    assert office().between(local(2026, 1, 9, 16), local(2026, 1, 12, 10)) == minutes(120)
    assert office().between(local(2026, 1, 10, 8), local(2026, 1, 11, 20)) == timedelta()
    assert office().between(local(2026, 1, 12, 10), local(2026, 1, 12, 9)) == timedelta()


def test_split_shifts_leave_the_lunch_break_out() -> None:
    calendar = BusinessCalendar(
        "Europe/Madrid", (Shift(1, time(8), time(12)), Shift(1, time(14), time(18)))
    )
    assert calendar.add(local(2026, 1, 12, 11, 50), minutes(20)) == local(2026, 1, 12, 14, 10)
    assert calendar.between(local(2026, 1, 12, 11), local(2026, 1, 12, 15)) == minutes(120)


def test_an_overnight_shift_runs_past_midnight_into_the_next_day() -> None:
    night = BusinessCalendar("Europe/Madrid", (Shift(1, time(22), time(6), overnight=True),))
    monday_late = local(2026, 1, 12, 23)
    assert night.add(monday_late, minutes(6 * 60)) == local(2026, 1, 13, 5)
    # Seven hours are left of this shift; the eighth is next Monday night.
    assert night.add(monday_late, minutes(8 * 60)) == local(2026, 1, 19, 23)
    assert night.between(local(2026, 1, 12, 21), local(2026, 1, 13, 12)) == minutes(8 * 60)


def test_overlapping_shifts_count_once() -> None:
    calendar = BusinessCalendar(
        "Europe/Madrid",
        (Shift(1, time(20), time(2), overnight=True), Shift(2, time(0), time(8))),
    )
    assert calendar.between(local(2026, 1, 12), local(2026, 1, 14)) == minutes(12 * 60)


def test_a_holiday_has_no_business_hours() -> None:
    calendar = office(holidays=frozenset({date(2026, 1, 14)}))  # a Wednesday
    assert calendar.add(local(2026, 1, 13, 16), minutes(120)) == local(2026, 1, 15, 10)
    assert calendar.between(local(2026, 1, 13, 9), local(2026, 1, 15, 9)) == minutes(8 * 60)


def test_daylight_saving_changes_are_counted_in_real_minutes() -> None:
    # Europe/Madrid springs forward on Sunday 29 March 2026 at 02:00 (to 03:00): the night
    # shift 00:00-06:00 lasts five real hours that day.
    sunday_night = BusinessCalendar("Europe/Madrid", (Shift(7, time(0), time(6)),))
    assert sunday_night.between(local(2026, 3, 29), local(2026, 3, 30)) == minutes(5 * 60)
    assert sunday_night.add(local(2026, 3, 29), minutes(5 * 60)) == local(2026, 3, 29, 6)
    # ... and seven on 25 October 2026, when it falls back at 03:00 (to 02:00).
    assert sunday_night.between(local(2026, 10, 25), local(2026, 10, 26)) == minutes(7 * 60)
    # A 24-hour shift every day is 23 hours on the short day.
    always = BusinessCalendar(
        "Europe/Madrid", tuple(Shift(d, time(0), time(0), overnight=True) for d in range(1, 8))
    )
    assert always.between(local(2026, 3, 29), local(2026, 3, 30)) == minutes(23 * 60)
    assert always.add(local(2026, 3, 28, 12), minutes(24 * 60)) == local(2026, 3, 29, 13)


def test_a_business_hours_policy_without_hours_runs_around_the_clock() -> None:
    assert isinstance(clock_for(True, BusinessCalendar("UTC", ())), AroundTheClock)
    assert isinstance(clock_for(False, office()), AroundTheClock)
    assert clock_for(True, office()) == office()


@pytest.mark.parametrize(
    ("opens", "closes", "overnight", "fine"),
    [
        (time(9), time(17), False, True),
        (time(22), time(6), True, True),
        (time(0), time(0), True, True),  # 24 hours
        (time(9), time(9), False, False),  # end equals start without the overnight flag
        (time(22), time(6), False, False),
        (time(9), time(17), True, False),
    ],
)
def test_shift_problems(opens: time, closes: time, overnight: bool, fine: bool) -> None:
    assert (shift_problem(opens, closes, overnight) is None) is fine


def test_overlapping_shifts_are_found_including_sunday_night_into_monday() -> None:
    assert overlapping_shifts(WEEKDAYS_9_TO_17) is None
    lunch = (Shift(1, time(8), time(12)), Shift(1, time(14), time(18)))
    assert overlapping_shifts(lunch) is None
    assert overlapping_shifts((*lunch, Shift(1, time(11), time(15)))) == (0, 2)
    sunday_night = Shift(7, time(22), time(7), overnight=True)
    assert overlapping_shifts((Shift(1, time(6), time(9)), sunday_night)) == (0, 1)


def test_pausing_keeps_what_is_left_and_resuming_runs_it_from_then() -> None:
    calendar, agreed = office(), terms()
    opened = start(agreed, local(2026, 1, 12, 9), calendar)  # Monday 09:00
    assert opened.first_response.due_at == local(2026, 1, 12, 10)
    assert opened.first_response.warn_at == local(2026, 1, 12, 9, 48)
    assert opened.resolution.due_at == local(2026, 1, 12, 17)
    assert opened.next_response.idle

    paused = follow_status(opened, "pending", local(2026, 1, 12, 9, 20), calendar)
    assert paused.first_response.due_at is None
    assert paused.first_response.left == minutes(40)
    assert paused.resolution.left == minutes(460)
    assert next_check(paused, frozenset()) is None

    # The guest answers on Tuesday at 10:00: 40 minutes to go, warned after 28 of them.
    resumed = guest_wrote(paused, "open", local(2026, 1, 13, 10), calendar)
    assert resumed.first_response.due_at == local(2026, 1, 13, 10, 40)
    assert resumed.first_response.warn_at == local(2026, 1, 13, 10, 28)
    assert resumed.first_response.left is None
    assert resumed.resolution.due_at == local(2026, 1, 14, 9, 40)
    assert resumed.next_response.idle  # the first response is not met yet


def test_a_bot_reply_meets_the_response_targets_only_where_the_policy_says_so() -> None:
    opened = start(terms(), local(2026, 1, 12, 9), office())
    assert responded(opened, by_bot=True) == opened
    answered = responded(opened, by_bot=False)
    assert answered.first_response.idle
    assert answered.resolution == opened.resolution
    counting = start(terms(bot_reply_counts=True), local(2026, 1, 12, 9), office())
    assert responded(counting, by_bot=True).first_response.idle


def test_after_the_first_response_a_guest_message_starts_the_next_response_target() -> None:
    calendar = office()
    answered = responded(start(terms(), local(2026, 1, 12, 9), calendar), by_bot=False)
    asked = guest_wrote(answered, "open", local(2026, 1, 12, 16, 50), calendar)
    assert asked.next_response.due_at == local(2026, 1, 13, 9, 20)
    # A second message while it runs leaves its deadline as it is.
    again = guest_wrote(asked, "open", local(2026, 1, 13, 9), calendar)
    assert again.next_response == asked.next_response
    assert responded(again, by_bot=False).next_response.idle


def test_warnings_then_breaches_fall_due_once_each() -> None:
    opened = start(terms(resolution=None), local(2026, 1, 12, 9), office())
    assert due_stages(opened, local(2026, 1, 12, 9, 47), frozenset()) == []
    assert next_check(opened, frozenset()) == local(2026, 1, 12, 9, 48)
    due = local(2026, 1, 12, 10)
    assert due_stages(opened, local(2026, 1, 12, 9, 48), frozenset()) == [
        ("first_response", "warning", due)
    ]
    warned = frozenset({("first_response", "warning")})
    assert next_check(opened, warned) == due
    assert due_stages(opened, due, warned) == [("first_response", "breach", due)]
    breached = warned | {("first_response", "breach")}
    assert due_stages(opened, local(2026, 1, 13), breached) == []
    assert next_check(opened, breached) is None


def test_the_first_matching_policy_by_position_applies() -> None:
    channel, team, place = uuid4(), uuid4(), uuid4()
    vip = Policy(terms(), position=10, priorities=frozenset({"urgent"}))
    desk = Policy(terms(), position=20, team_ids=frozenset({team}))
    anything = Policy(terms(), position=30)
    other_place = Policy(terms(), position=5, property_ids=frozenset({uuid4()}))
    policies = [anything, desk, vip, other_place]
    facts = Facts(priority="normal", channel_id=channel, team_id=None, property_id=place)
    assert applicable(policies, facts) is anything
    assert applicable(policies, Facts("normal", channel, team, place)) is desk
    assert applicable(policies, Facts("urgent", channel, team, place)) is vip
    assert applicable([vip, desk], facts) is None
