"""Reports: the period a report covers and the rates it states, independent of storage.

A report covers whole local days: ``[from 00:00, to 00:00)`` in a time zone (the tenant's
unless the caller names one), so ``from=2026-11-01, to=2026-12-01`` is November, and its
bounds move with daylight saving like the clock on the wall. A midnight skipped by a DST change
starts the day at the first instant that exists (zoneinfo's ``fold=0`` rule).

What each figure counts:

- a conversation belongs to the period in which it opened (``first_message_at``); its first
  response is the first reply sent by staff or the assistant, its resolution the time it was
  resolved or closed, both measured from its opening. Response times count only the
  conversations in which the guest wrote before that first response: one a pre-arrival message
  opened has both times set by that message, which measures no one;
- a decision belongs to the period in which its inbound message arrived; the rates are shares
  of the decided inbound messages (an undecided one is counted apart, in no rate);
- service levels: a conversation with a target of a kind complies unless a breach of that kind
  was recorded for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Literal, get_args

from domain.quiet_hours import InvalidTimeZoneError, zone

GroupBy = Literal["none", "property", "team", "agent", "channel"]
GROUP_BYS: tuple[str, ...] = get_args(GroupBy)
MAX_DAYS = 366
PERCENTILES = (0.5, 0.9, 0.95)


class PeriodRefused(ValueError):
    """A report period that cannot be reported on; ``field`` names the parameter to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class Period:
    """Local days ``[first, end)`` in ``timezone`` and the UTC instants that bound them."""

    first: date
    end: date
    timezone: str
    start_at: datetime
    end_at: datetime

    @property
    def days(self) -> int:
        return (self.end - self.first).days


def _midnight(day: date, timezone: str) -> datetime:
    # Through UTC, so a skipped local midnight becomes the first instant of the day.
    return datetime.combine(day, time(0), tzinfo=zone(timezone)).astimezone(UTC)


def period(first: date, end: date, timezone: str, *, max_days: int = MAX_DAYS) -> Period:
    """The period from local day ``first`` up to (not including) local day ``end``."""
    try:
        zone(timezone)
    except InvalidTimeZoneError:
        raise PeriodRefused("timezone", f"unknown time zone {timezone!r}") from None
    if end <= first:
        raise PeriodRefused("to", "must be a later day than from (to is not included)")
    if (end - first).days > max_days:
        raise PeriodRefused("to", f"the period may span at most {max_days} days")
    return Period(
        first=first,
        end=end,
        timezone=timezone,
        start_at=_midnight(first, timezone),
        end_at=_midnight(end, timezone),
    )


def rate(part: int, whole: int) -> float | None:
    """``part`` as a share of ``whole`` (0..1, four decimals), None when there is no whole."""
    if whole <= 0:
        return None
    return round(part / whole, 4)
