"""The pure planning rules: local send times across DST, late bookings, conditions, keywords."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from domain.scheduling import (
    Anchor,
    InvalidRuleError,
    LatePolicy,
    Rule,
    Stay,
    local_instant,
    opt_keyword,
    plan,
    rule_from_conditions,
    whatsapp_window_open,
)

SEND_TIMES = {"T_MINUS_3": time(10), "T_MINUS_1": time(10), "DAY_OF": time(9)}
T_MINUS_1 = rule_from_conditions("T_MINUS_1", {}, SEND_TIMES)
LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


def stay(check_in: date, tz: str, *, nights: int = 2, **changes: object) -> Stay:
    values: dict[str, object] = {
        "check_in": check_in,
        "check_out": check_in + timedelta(days=nights),
        "check_in_time": time(15),
        "check_out_time": time(11),
        "booked_at": LONG_AGO,
        "timezone": tz,
        "status": "confirmed",
    }
    values.update(changes)
    return Stay(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tz", "check_in", "expected_utc"),
    [
        # Europe/Berlin springs forward on 2026-03-29 (CET +1 -> CEST +2).
        ("Europe/Berlin", date(2026, 3, 29), datetime(2026, 3, 28, 9, tzinfo=UTC)),
        ("Europe/Berlin", date(2026, 3, 30), datetime(2026, 3, 29, 8, tzinfo=UTC)),
        # ... and falls back on 2026-10-25 (CEST +2 -> CET +1).
        ("Europe/Berlin", date(2026, 10, 25), datetime(2026, 10, 24, 8, tzinfo=UTC)),
        ("Europe/Berlin", date(2026, 10, 26), datetime(2026, 10, 25, 9, tzinfo=UTC)),
        # America/New_York springs forward on 2026-03-08 and falls back on 2026-11-01.
        ("America/New_York", date(2026, 3, 8), datetime(2026, 3, 7, 15, tzinfo=UTC)),
        ("America/New_York", date(2026, 3, 9), datetime(2026, 3, 8, 14, tzinfo=UTC)),
        ("America/New_York", date(2026, 11, 1), datetime(2026, 10, 31, 14, tzinfo=UTC)),
        ("America/New_York", date(2026, 11, 2), datetime(2026, 11, 1, 15, tzinfo=UTC)),
    ],
)
def test_t_minus_1_is_ten_local_on_both_sides_of_a_dst_change(
    tz: str, check_in: date, expected_utc: datetime
) -> None:
    planned = plan(T_MINUS_1, stay(check_in, tz), now=LONG_AGO)
    assert planned.status == "scheduled"
    assert planned.due_at == expected_utc
    assert local_instant(check_in - timedelta(days=1), time(10), tz) == expected_utc


def test_a_skipped_local_time_moves_forward_and_a_repeated_one_takes_the_first() -> None:
    # 02:30 does not exist in Berlin on 2026-03-29: it becomes 03:30 CEST (01:30 UTC).
    assert local_instant(date(2026, 3, 29), time(2, 30), "Europe/Berlin") == datetime(
        2026, 3, 29, 1, 30, tzinfo=UTC
    )
    # 02:30 happens twice on 2026-10-25: the first (CEST, 00:30 UTC) is taken.
    assert local_instant(date(2026, 10, 25), time(2, 30), "Europe/Berlin") == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )
    # New York: 02:30 on 2026-03-08 is skipped -> 03:30 EDT (07:30 UTC).
    assert local_instant(date(2026, 3, 8), time(2, 30), "America/New_York") == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )


def test_a_late_booking_is_sent_at_once_while_before_check_in() -> None:
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    late = stay(date(2026, 6, 10), "Europe/Madrid", booked_at=now)
    planned = plan(T_MINUS_1, late, now=now)
    assert (planned.status, planned.due_at) == ("scheduled", now)
    assert planned.reason is not None
    assert "at once" in planned.reason


def test_a_late_booking_under_a_skip_policy_is_skipped_with_the_reason() -> None:
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    rule = rule_from_conditions("T_MINUS_1", {"late_booking": "skip"}, SEND_TIMES)
    planned = plan(rule, stay(date(2026, 6, 10), "Europe/Madrid", booked_at=now), now=now)
    assert planned.status == "skipped"
    assert planned.reason == "booked after the rule's moment (late-booking policy: skip)"


def test_a_late_booking_after_check_in_is_skipped_even_when_sending_late() -> None:
    now = datetime(2026, 6, 10, 18, tzinfo=UTC)  # 20:00 in Madrid: arrival (15:00) passed
    planned = plan(T_MINUS_1, stay(date(2026, 6, 10), "Europe/Madrid", booked_at=now), now=now)
    assert planned.status == "skipped"
    assert planned.reason is not None
    assert "check-in has passed" in planned.reason


def test_nothing_is_ever_due_after_check_out() -> None:
    rule = Rule(anchor=Anchor.CHECK_OUT, offset_days=1, send_at=time(10))
    planned = plan(rule, stay(date(2026, 6, 10), "Europe/Madrid"), now=LONG_AGO)
    assert (planned.status, planned.reason) == ("skipped", "due at or after check-out")
    over = plan(T_MINUS_1, stay(date(2026, 6, 10), "UTC"), now=datetime(2026, 6, 13, tzinfo=UTC))
    assert over.status == "skipped"


@pytest.mark.parametrize(
    ("status", "expected"),
    [("cancelled", "cancelled"), ("no_show", "cancelled"), ("checked_out", "cancelled")],
)
def test_an_ended_reservation_cancels(status: str, expected: str) -> None:
    assert plan(T_MINUS_1, stay(date(2026, 6, 10), "UTC", status=status), now=LONG_AGO).status == (
        expected
    )


def test_conditions_on_nights_and_language() -> None:
    rule = rule_from_conditions("DAY_OF", {"min_nights": 3, "languages": ["de"]}, SEND_TIMES)
    short = plan(rule, stay(date(2026, 6, 10), "UTC", nights=2, language="de"), now=LONG_AGO)
    assert short.status == "skipped"
    english = plan(rule, stay(date(2026, 6, 10), "UTC", nights=4, language="en"), now=LONG_AGO)
    assert english.status == "skipped"
    fits = plan(rule, stay(date(2026, 6, 10), "UTC", nights=4, language="DE"), now=LONG_AGO)
    assert (fits.status, fits.due_at) == ("scheduled", datetime(2026, 6, 10, 9, tzinfo=UTC))


def test_booking_and_check_out_anchors() -> None:
    booked = datetime(2026, 6, 1, 8, tzinfo=UTC)
    confirmation = rule_from_conditions("custom:welcome", {"anchor": "booking"}, SEND_TIMES)
    planned = plan(confirmation, stay(date(2026, 6, 10), "UTC", booked_at=booked), now=booked)
    assert planned.due_at == booked
    farewell = rule_from_conditions(
        "custom:bye", {"anchor": "check_out", "offset_minutes": -120}, SEND_TIMES
    )
    planned = plan(farewell, stay(date(2026, 6, 10), "Europe/Madrid"), now=LONG_AGO)
    assert planned.due_at == datetime(2026, 6, 12, 7, tzinfo=UTC)  # 09:00 in Madrid


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ({"anchor": "lunch"}, "anchor"),
        ({"offset_days": "x"}, "offset_days"),
        ({"offset_days": 9999}, "offset_days"),
        ({"send_at": "25:99"}, "send_at"),
        ({"late_booking": "maybe"}, "late_booking"),
        ({"languages": "de"}, "languages"),
    ],
)
def test_bad_conditions_name_the_field(conditions: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRuleError) as raised:
        rule_from_conditions("T_MINUS_1", conditions, SEND_TIMES)
    assert raised.value.field == field


def test_the_default_late_policy_sends_now() -> None:
    assert T_MINUS_1.late_policy is LatePolicy.SEND_NOW
    assert T_MINUS_1.send_at == time(10)


def test_whatsapp_window_is_24_hours() -> None:
    now = datetime(2026, 6, 10, 12, tzinfo=UTC)
    assert whatsapp_window_open(now - timedelta(hours=23, minutes=59), now)
    assert not whatsapp_window_open(now - timedelta(hours=24), now)
    assert not whatsapp_window_open(None, now)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "stop"),
        (" stop. ", "stop"),
        ("Arrêt", "stop"),
        ("ARRET", "stop"),
        ("baja", "stop"),
        ("PARAR", "stop"),
        ("Stopp", "stop"),
        ("abmelden!", "stop"),
        ("START", "start"),
        ("please stop sending", None),
        ("", None),
        (None, None),
    ],
)
def test_opt_keywords(text: str | None, keyword: str | None) -> None:
    assert opt_keyword(text) == keyword
