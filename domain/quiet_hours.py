"""Quiet hours: the nightly window in the property's time zone when nothing proactive is sent.

Rule (applied by the callers, stated here once): answers to a guest who just wrote and
emergency escalations are never held; proactive messages (pre-arrival, triggers) and
non-urgent staff alerts wait until ``quiet_hours_end``.

A window is ``[start, end)`` in local wall-clock time and may cross midnight (22:00-07:00).
``start == end`` or a missing bound means no quiet hours. Wall-clock times that do not exist on
a daylight-saving spring-forward day are resolved by zoneinfo's ``fold=0`` rule (they map to the
instant an hour later), which is what a person reading the clock on the wall expects.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class InvalidTimeZoneError(ValueError):
    """The tenant's or property's time zone is not a known IANA name."""


def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name, or a typed error naming the bad value."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidTimeZoneError(f"unknown time zone {tz!r}") from error


def _require_aware(now_utc: datetime) -> None:
    if now_utc.tzinfo is None or now_utc.utcoffset() is None:
        raise ValueError("now_utc must be timezone-aware")


def in_quiet_hours(now_utc: datetime, start: time | None, end: time | None, tz: str) -> bool:
    """True when ``now_utc`` falls inside the quiet window in the time zone ``tz``."""
    _require_aware(now_utc)
    if start is None or end is None or start == end:
        return False
    local = now_utc.astimezone(zone(tz)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def _at(day: date, wall: time, tzinfo: ZoneInfo) -> datetime:
    # Round-trip through UTC so a wall time skipped by DST becomes a real instant.
    local = datetime.combine(day, wall.replace(tzinfo=None), tzinfo=tzinfo)
    return local.astimezone(UTC)


def quiet_hours_end(now_utc: datetime, start: time | None, end: time | None, tz: str) -> datetime:
    """When a held message may go: ``now_utc`` itself outside quiet hours, else the window's
    end (in UTC)."""
    if not in_quiet_hours(now_utc, start, end, tz):
        return now_utc
    assert end is not None  # in_quiet_hours is False without both bounds
    tzinfo = zone(tz)
    local_day = now_utc.astimezone(tzinfo).date()
    for offset in (0, 1):
        candidate = _at(local_day + timedelta(days=offset), end, tzinfo)
        if candidate > now_utc:
            return candidate
    raise AssertionError("quiet hours end within a day")  # pragma: no cover
