from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from domain.quiet_hours import InvalidTimeZoneError, in_quiet_hours, quiet_hours_end

NIGHT = (time(22, 0), time(7, 0))


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "quiet"),
    [
        (utc(2024, 1, 15, 20, 59), False),  # 21:59 in Madrid (UTC+1)
        (utc(2024, 1, 15, 21, 0), True),  # 22:00 local: start is inside
        (utc(2024, 1, 15, 23, 30), True),  # 00:30 local, across midnight
        (utc(2024, 1, 16, 5, 59), True),  # 06:59 local
        (utc(2024, 1, 16, 6, 0), False),  # 07:00 local: end is outside
    ],
)
def test_window_across_midnight_in_local_time(now: datetime, quiet: bool) -> None:
    assert in_quiet_hours(now, *NIGHT, "Europe/Madrid") is quiet


def test_daytime_window() -> None:
    assert in_quiet_hours(utc(2024, 1, 15, 13, 0), time(13, 0), time(15, 0), "UTC")
    assert not in_quiet_hours(utc(2024, 1, 15, 15, 0), time(13, 0), time(15, 0), "UTC")


def test_no_window_when_unset_or_empty() -> None:
    now = utc(2024, 1, 15, 23, 0)
    assert not in_quiet_hours(now, None, time(7), "UTC")
    assert not in_quiet_hours(now, time(22), None, "UTC")
    assert not in_quiet_hours(now, time(22), time(22), "UTC")
    assert quiet_hours_end(now, None, None, "UTC") == now


def test_end_is_next_morning_when_inside_before_midnight() -> None:
    now = utc(2024, 1, 15, 22, 30)  # 23:30 Madrid
    assert quiet_hours_end(now, *NIGHT, "Europe/Madrid") == utc(2024, 1, 16, 6, 0)


def test_end_is_same_morning_after_midnight() -> None:
    now = utc(2024, 1, 16, 1, 0)  # 02:00 Madrid
    assert quiet_hours_end(now, *NIGHT, "Europe/Madrid") == utc(2024, 1, 16, 6, 0)


def test_end_outside_quiet_hours_is_now() -> None:
    now = utc(2024, 1, 16, 10, 0)
    assert quiet_hours_end(now, *NIGHT, "Europe/Madrid") == now


def test_dst_spring_forward_night() -> None:
    # Europe/Madrid jumps 02:00 -> 03:00 on 2024-03-31: the night is an hour shorter in UTC.
    now = utc(2024, 3, 30, 22, 0)  # 23:00 CET
    assert in_quiet_hours(now, *NIGHT, "Europe/Madrid")
    assert quiet_hours_end(now, *NIGHT, "Europe/Madrid") == utc(2024, 3, 31, 5, 0)  # 07:00 CEST


def test_dst_fall_back_night() -> None:
    # 2024-10-27 03:00 CEST -> 02:00 CET: the quiet night lasts an hour longer.
    now = utc(2024, 10, 26, 21, 0)  # 23:00 CEST
    assert quiet_hours_end(now, *NIGHT, "Europe/Madrid") == utc(2024, 10, 27, 6, 0)  # 07:00 CET


def test_window_ending_in_the_skipped_hour() -> None:
    # 02:30 does not exist on the spring-forward day; the window ends at 03:30 CEST instead.
    now = utc(2024, 3, 30, 23, 30)  # 00:30 CET
    end = quiet_hours_end(now, time(0, 0), time(2, 30), "Europe/Madrid")
    assert end == utc(2024, 3, 31, 1, 30)
    assert end > now


def test_unknown_zone_and_naive_time_are_errors() -> None:
    with pytest.raises(InvalidTimeZoneError, match="Mars/Olympus"):
        in_quiet_hours(utc(2024, 1, 1), *NIGHT, "Mars/Olympus")
    with pytest.raises(ValueError, match="timezone-aware"):
        in_quiet_hours(datetime(2024, 1, 1), *NIGHT, "UTC")
