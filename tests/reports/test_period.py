"""The period a report covers (``domain.reports``), pure: whole local days, their UTC bounds
across daylight-saving changes, and the limits that name the field to fix."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.reports import MAX_DAYS, PeriodRefused, period, rate


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_month_in_madrid_starts_in_winter_time_and_ends_in_summer_time() -> None:
    march = period(date(2026, 3, 1), date(2026, 4, 1), "Europe/Madrid")

    assert (march.start_at, march.end_at) == (utc("2026-02-28T23:00"), utc("2026-03-31T22:00"))
    assert march.days == 31


def test_the_day_the_clocks_go_back_lasts_25_hours() -> None:
    day = period(date(2026, 10, 25), date(2026, 10, 26), "Europe/Madrid")

    assert (day.end_at - day.start_at).total_seconds() == 25 * 3600


def test_a_skipped_midnight_starts_the_day_at_its_first_instant() -> None:
    # Chile's summer time begins at midnight: 6 September 2026 starts at 01:00 local.
    day = period(date(2026, 9, 6), date(2026, 9, 7), "America/Santiago")

    assert day.start_at == utc("2026-09-06T04:00")  # 01:00 at UTC-3
    assert (day.end_at - day.start_at).total_seconds() == 23 * 3600


@pytest.mark.parametrize(
    ("first", "end", "timezone", "field"),
    [
        (date(2026, 3, 1), date(2026, 3, 1), "UTC", "to"),
        (date(2026, 3, 2), date(2026, 3, 1), "UTC", "to"),
        (date(2026, 1, 1), date(2027, 1, 3), "UTC", "to"),
        (date(2026, 3, 1), date(2026, 4, 1), "Europe/Nowhere", "timezone"),
        (date(2026, 3, 1), date(2026, 4, 1), "../../etc/passwd", "timezone"),
    ],
)
def test_refusals_name_the_field(first: date, end: date, timezone: str, field: str) -> None:
    with pytest.raises(PeriodRefused) as refused:
        period(first, end, timezone)
    assert refused.value.field == field


def test_the_longest_period_is_366_days() -> None:
    assert period(date(2028, 1, 1), date(2029, 1, 1), "UTC").days == MAX_DAYS


def test_a_rate_has_four_decimals_and_none_without_a_whole() -> None:
    assert rate(2, 3) == 0.6667
    assert rate(0, 5) == 0.0
    assert rate(0, 0) is None
