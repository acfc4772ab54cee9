"""When a stay's scheduled messages are due, in the property's time zone, and whether they go.

A rule (a time-based trigger) names an anchor — check-in, check-out or booking — a day offset
and a local time of day: "T-1 at 10:00" is ``check_in``, ``-1``, ``10:00``. The due instant is
that wall-clock time in the property's IANA zone, so it stays 10:00 local across a daylight
saving change. A wall time the change skips moves forward by the gap (02:30 on a spring-forward
night is 03:30); one it repeats takes the first occurrence (zoneinfo's ``fold=0``).

Nothing is ever due at or after check-out. A booking made after a rule's moment follows the
rule's late-booking policy: ``send_now`` while still before the stay's deadline (check-in for
rules due before arrival, check-out for the others), or ``skip`` with the reason.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal

from domain.quiet_hours import zone

# The rules the demo and the property settings know by name: (day offset, setting).
PRE_ARRIVAL_RULES = {"T_MINUS_3": -3, "T_MINUS_1": -1, "DAY_OF": 0}
WHATSAPP_PROVIDERS = frozenset({"green_api", "whatsapp_cloud"})
WHATSAPP_WINDOW = timedelta(hours=24)
# Stays that get no more scheduled messages.
ENDED_STATUSES = {"cancelled": "reservation cancelled", "no_show": "guest did not show up"}
MAX_OFFSET_DAYS = 365


class Anchor(StrEnum):
    CHECK_IN = "check_in"
    CHECK_OUT = "check_out"
    BOOKING = "booking"


class LatePolicy(StrEnum):
    SEND_NOW = "send_now"
    SKIP = "skip"


class InvalidRuleError(ValueError):
    """A trigger's conditions do not describe a rule; ``field`` names the bad one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class Rule:
    anchor: Anchor
    offset_days: int
    # Local wall time of the send; None: the anchor's own moment (plus ``offset_minutes``).
    send_at: time | None
    offset_minutes: int = 0
    late_policy: LatePolicy = LatePolicy.SEND_NOW
    min_nights: int | None = None
    max_nights: int | None = None
    languages: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Stay:
    check_in: date
    check_out: date
    check_in_time: time
    check_out_time: time
    booked_at: datetime
    timezone: str
    status: str
    language: str | None = None

    @property
    def nights(self) -> int:
        return (self.check_out - self.check_in).days

    @property
    def arrival(self) -> datetime:
        return local_instant(self.check_in, self.check_in_time, self.timezone)

    @property
    def departure(self) -> datetime:
        return local_instant(self.check_out, self.check_out_time, self.timezone)


@dataclass(frozen=True, slots=True)
class Plan:
    status: Literal["scheduled", "skipped", "cancelled"]
    due_at: datetime
    reason: str | None = None


def local_instant(day: date, wall: time, tz: str) -> datetime:
    """The UTC instant of wall-clock ``wall`` on ``day`` in ``tz`` (skipped: forward;
    repeated: the first)."""
    local = datetime.combine(day, wall.replace(tzinfo=None, fold=0), tzinfo=zone(tz))
    return local.astimezone(UTC)


def _int(conditions: Mapping[str, Any], name: str, default: int | None) -> int | None:
    value = conditions.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRuleError(name, "must be a whole number")
    return value


def _time(conditions: Mapping[str, Any], name: str) -> time | None:
    value = conditions.get(name)
    if value is None or isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        raise InvalidRuleError(name, "must be a time of day such as 10:00") from None


def rule_from_conditions(
    rule_key: str, conditions: Mapping[str, Any], send_times: Mapping[str, time]
) -> Rule:
    """The rule a time-based trigger's ``conditions`` describe, defaults from its template's
    rule key: T_MINUS_3 / T_MINUS_1 / DAY_OF are check-in -3 / -1 / 0 days at the property's
    ``send_times`` for that key."""
    try:
        anchor = Anchor(conditions.get("anchor", Anchor.CHECK_IN))
    except ValueError:
        raise InvalidRuleError("anchor", "must be check_in, check_out or booking") from None
    default_offset = PRE_ARRIVAL_RULES.get(rule_key, 0)
    offset_days = _int(conditions, "offset_days", default_offset) or 0
    if abs(offset_days) > MAX_OFFSET_DAYS:
        raise InvalidRuleError("offset_days", f"must be within {MAX_OFFSET_DAYS} days")
    offset_minutes = _int(conditions, "offset_minutes", 0) or 0
    send_at = _time(conditions, "send_at")
    if send_at is None and "offset_minutes" not in conditions and anchor is not Anchor.BOOKING:
        send_at = send_times.get(rule_key)
    try:
        late_policy = LatePolicy(conditions.get("late_booking", LatePolicy.SEND_NOW))
    except ValueError:
        raise InvalidRuleError("late_booking", "must be send_now or skip") from None
    languages = conditions.get("languages") or []
    if not isinstance(languages, list) or not all(isinstance(x, str) for x in languages):
        raise InvalidRuleError("languages", "must be a list of language codes")
    return Rule(
        anchor=anchor,
        offset_days=offset_days,
        send_at=send_at,
        offset_minutes=offset_minutes,
        late_policy=late_policy,
        min_nights=_int(conditions, "min_nights", None),
        max_nights=_int(conditions, "max_nights", None),
        languages=frozenset(language.lower() for language in languages),
    )


def moment(rule: Rule, stay: Stay) -> datetime:
    """The instant the rule names for this stay (before any late-booking policy)."""
    if rule.anchor is Anchor.BOOKING:
        base_day = stay.booked_at.astimezone(zone(stay.timezone)).date()
        if rule.send_at is None:
            return stay.booked_at + timedelta(days=rule.offset_days, minutes=rule.offset_minutes)
        return local_instant(
            base_day + timedelta(days=rule.offset_days), rule.send_at, stay.timezone
        )
    day = stay.check_in if rule.anchor is Anchor.CHECK_IN else stay.check_out
    wall = stay.check_in_time if rule.anchor is Anchor.CHECK_IN else stay.check_out_time
    if rule.send_at is not None:
        return local_instant(day + timedelta(days=rule.offset_days), rule.send_at, stay.timezone)
    base = local_instant(day + timedelta(days=rule.offset_days), wall, stay.timezone)
    return base + timedelta(minutes=rule.offset_minutes)


def unmet_condition(rule: Rule, stay: Stay) -> str | None:
    """Why the stay does not qualify for the rule, or None when it does."""
    if rule.min_nights is not None and stay.nights < rule.min_nights:
        return f"stay of {stay.nights} nights is shorter than {rule.min_nights}"
    if rule.max_nights is not None and stay.nights > rule.max_nights:
        return f"stay of {stay.nights} nights is longer than {rule.max_nights}"
    if rule.languages and (stay.language or "").lower() not in rule.languages:
        return f"guest language {stay.language or 'unknown'} is not one of the rule's"
    return None


def plan(rule: Rule, stay: Stay, *, now: datetime) -> Plan:
    """Whether and when the rule's message goes for the stay, seen at ``now``."""
    due = moment(rule, stay)
    if stay.status in ENDED_STATUSES:
        return Plan("cancelled", due, ENDED_STATUSES[stay.status])
    if stay.status == "checked_out":
        return Plan("cancelled", due, "guest checked out")
    if now >= stay.departure:
        return Plan("skipped", due, "the stay is over")
    unmet = unmet_condition(rule, stay)
    if unmet is not None:
        return Plan("skipped", due, unmet)
    if due >= stay.departure:
        return Plan("skipped", due, "due at or after check-out")
    if due > now:
        return Plan("scheduled", due)
    deadline = stay.arrival if due <= stay.arrival else stay.departure
    if rule.late_policy is LatePolicy.SKIP:
        return Plan("skipped", due, "booked after the rule's moment (late-booking policy: skip)")
    if now >= deadline:
        passed = "check-in" if deadline == stay.arrival else "check-out"
        return Plan("skipped", due, f"booked after the rule's moment and {passed} has passed")
    return Plan("scheduled", now, "booked after the rule's moment: sent at once")


def whatsapp_window_open(last_inbound_at: datetime | None, now: datetime) -> bool:
    """WhatsApp lets a business write freely for 24 hours after the guest last wrote."""
    return last_inbound_at is not None and now - last_inbound_at < WHATSAPP_WINDOW


OPT_OUT_WORDS = frozenset(
    {"stop", "arret", "baja", "parar", "stopp", "abmelden", "unsubscribe", "stopall"}
)
OPT_IN_WORDS = frozenset({"start", "unstop", "alta"})


def _bare(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.strip().casefold())
    letters = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return letters.strip(" \t\r\n.!?¡¿,;:\"'()")


def opt_keyword(text: str | None) -> Literal["stop", "start"] | None:
    """STOP (ARRET/ARRÊT, BAJA, PARAR, STOPP, ABMELDEN, ...) or START, said on its own."""
    if not text:
        return None
    word = _bare(text)
    if word in OPT_OUT_WORDS:
        return "stop"
    if word in OPT_IN_WORDS:
        return "start"
    return None
