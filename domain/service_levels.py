"""Service levels: which policy applies to a conversation, and the clocks its targets run on.

A policy's targets (first response, next response, resolution) run on a calendar clock (every
minute counts) or a business-hours clock: the minutes inside the shifts of a property or a team,
in the property's time zone (so across daylight-saving changes a shift lasts what the wall
clock says), with split shifts, overnight shifts and holidays (a shift starting on a holiday does
not happen). The state of a conversation's targets is pure data (``SlaState``); the functions
in ``domain.sla_targets`` move it as the conversation is opened, paused, resumed, answered
and resolved.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Literal, Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

Kind = Literal["first_response", "next_response", "resolution"]
KINDS: tuple[Kind, ...] = ("first_response", "next_response", "resolution")
# How far ahead a business-hours clock looks for open time before giving up.
HORIZON_DAYS = 800


class NoBusinessHours(ValueError):
    """A business-hours clock found no open time within ``HORIZON_DAYS``."""


def shift_problem(opens_at: time, closes_at: time, overnight: bool) -> str | None:
    """Why a shift is impossible (None: it is fine). ``overnight`` shifts end the next day."""
    if overnight and closes_at > opens_at:
        return "an overnight shift closes at or before the time it opens (the next day)"
    if not overnight and closes_at == opens_at:
        return "closes when it opens: set overnight for a 24-hour shift"
    if not overnight and closes_at < opens_at:
        return "must be after opens_at, or set overnight for a shift ending the next day"
    return None


@dataclass(frozen=True, slots=True)
class Shift:
    weekday: int  # ISO: 1 = Monday
    opens_at: time
    closes_at: time
    overnight: bool = False


def overlapping_shifts(shifts: Sequence[Shift]) -> tuple[int, int] | None:
    """The positions of two shifts of one week that overlap (None: none do)."""
    spans = []
    for index, shift in enumerate(shifts):
        start = timedelta(days=shift.weekday - 1, hours=shift.opens_at.hour) + timedelta(
            minutes=shift.opens_at.minute, seconds=shift.opens_at.second
        )
        length = _length(shift)
        spans.append((start, start + length, index))
        week = timedelta(days=7)
        if start + length > week:  # Sunday night into Monday morning
            spans.append((start - week, start + length - week, index))
    spans.sort()
    for (_, end, first), (start, _, second) in pairwise(spans):
        if start < end and first != second:
            return (min(first, second), max(first, second))
    return None


def _length(shift: Shift) -> timedelta:
    opens = timedelta(hours=shift.opens_at.hour, minutes=shift.opens_at.minute)
    closes = timedelta(hours=shift.closes_at.hour, minutes=shift.closes_at.minute)
    opens += timedelta(seconds=shift.opens_at.second)
    closes += timedelta(seconds=shift.closes_at.second)
    return closes - opens + (timedelta(days=1) if shift.overnight else timedelta())


class Clock(Protocol):
    """Counts a target's time: adds it to an instant, and measures it between two."""

    def add(self, start: datetime, duration: timedelta) -> datetime: ...

    def between(self, start: datetime, end: datetime) -> timedelta: ...


class AroundTheClock:
    """Every minute counts."""

    def add(self, start: datetime, duration: timedelta) -> datetime:
        return start.astimezone(UTC) + max(duration, timedelta())

    def between(self, start: datetime, end: datetime) -> timedelta:
        return max(end.astimezone(UTC) - start.astimezone(UTC), timedelta())


@dataclass(frozen=True, slots=True)
class BusinessCalendar:
    """Only the minutes inside the shifts count, in ``timezone``, except on ``holidays``."""

    timezone: str
    shifts: tuple[Shift, ...]
    holidays: frozenset[date] = frozenset()

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of open time has passed since ``start`` (a start
        outside the shifts waits for the next one to open)."""
        start = start.astimezone(UTC)
        left = max(duration, timedelta())
        for opens, closes in self.open_periods(start):
            opens = max(opens, start)
            if left <= closes - opens:
                return opens + left
            left -= closes - opens
        raise NoBusinessHours(f"no business hours within {HORIZON_DAYS} days of {start}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """The open time from ``start`` to ``end``."""
        # Aware datetimes of one zone subtract as wall-clock times: count in UTC.
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        total = timedelta()
        if end <= start:
            return total
        for opens, closes in self.open_periods(start, until=end):
            total += min(closes, end) - max(opens, start)
        return total

    def open_periods(
        self, start: datetime, *, until: datetime | None = None
    ) -> Iterator[tuple[datetime, datetime]]:
        """The open periods (UTC, overlapping shifts merged) that end after ``start``, in
        order, up to ``until`` (or ``HORIZON_DAYS`` without one)."""
        zone = ZoneInfo(self.timezone)
        day = start.astimezone(zone).date() - timedelta(days=1)
        last = (until or start + timedelta(days=HORIZON_DAYS)).astimezone(zone).date()
        current: tuple[datetime, datetime] | None = None
        while day <= last:
            for opens, closes in self._periods_of(day, zone):
                if current is not None and opens <= current[1]:
                    current = (current[0], max(current[1], closes))
                    continue
                if current is not None and current[1] > start:
                    yield current
                if until is not None and opens >= until:
                    return
                current = (opens, closes)
            day += timedelta(days=1)
        if current is not None and current[1] > start and (until is None or current[0] < until):
            yield current

    def _periods_of(self, day: date, zone: ZoneInfo) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        periods = []
        for shift in self.shifts:
            if shift.weekday != day.isoweekday():
                continue
            closing_day = day + timedelta(days=1) if shift.overnight else day
            opens = datetime.combine(day, shift.opens_at, tzinfo=zone).astimezone(UTC)
            closes = datetime.combine(closing_day, shift.closes_at, tzinfo=zone).astimezone(UTC)
            if closes > opens:
                periods.append((opens, closes))
        return sorted(periods)


def clock_for(business_hours: bool, calendar: BusinessCalendar | None) -> Clock:
    """A policy's clock: business hours where there are shifts, else every minute counts (a
    business-hours policy at a place with no hours set runs around the clock)."""
    if business_hours and calendar is not None and calendar.shifts:
        return calendar
    return AroundTheClock()


@dataclass(frozen=True, slots=True)
class Terms:
    """A policy's terms as copied onto a conversation when it applies."""

    policy_id: UUID
    first_response: timedelta
    next_response: timedelta | None
    resolution: timedelta | None
    business_hours: bool
    warning_percent: int | None
    bot_reply_counts: bool

    def target(self, kind: Kind) -> timedelta | None:
        return {
            "first_response": self.first_response,
            "next_response": self.next_response,
            "resolution": self.resolution,
        }[kind]


@dataclass(frozen=True, slots=True)
class Facts:
    """What a policy's criteria look at."""

    priority: str
    channel_id: UUID
    team_id: UUID | None
    property_id: UUID | None


@dataclass(frozen=True, slots=True)
class Policy:
    """An active policy: its terms and what it applies to (an empty criterion matches any)."""

    terms: Terms
    position: int
    priorities: frozenset[str] = frozenset()
    channel_ids: frozenset[UUID] = frozenset()
    team_ids: frozenset[UUID] = frozenset()
    property_ids: frozenset[UUID] = frozenset()

    def matches(self, facts: Facts) -> bool:
        return (
            _admits(self.priorities, facts.priority)
            and _admits(self.channel_ids, facts.channel_id)
            and _admits(self.team_ids, facts.team_id)
            and _admits(self.property_ids, facts.property_id)
        )


def _admits(allowed: frozenset[str] | frozenset[UUID], value: object) -> bool:
    return not allowed or value in allowed


def applicable(policies: Sequence[Policy], facts: Facts) -> Policy | None:
    """The first policy by position (ties: the order given) whose criteria all match."""
    ordered = sorted(enumerate(policies), key=lambda pair: (pair[1].position, pair[0]))
    return next((policy for _, policy in ordered if policy.matches(facts)), None)
