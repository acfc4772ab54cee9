"""What in a guest's message needs a human: escalation categories, asks for a person, re-alerts.

Detection is by keyword patterns (data: ``domain/data/escalation.json``) in English, Spanish,
French and German, matched on folded
text (lower case, accents stripped; see ``domain.text.fold``), so "reembolso", "remboursé" and
"Rückerstattung" need no accent variants. Patterns are regular expressions with word
boundaries; a prefix such as ``rembours`` covers every inflection. They are deliberately
specific: a missed keyword still reaches staff through low confidence or negative sentiment,
while a pattern that fires on ordinary questions would flood them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import resources
from typing import Any

from domain.text import fold


class EscalationCategory(StrEnum):
    EMERGENCY = "emergency"
    REFUND = "refund"
    COMPLAINT = "complaint"
    CANCELLATION = "cancellation"
    LOST_ITEM = "lost_item"
    DAMAGE = "damage"


DEFAULT_ESCALATION_CATEGORIES: tuple[str, ...] = ("refund", "complaint", "emergency")
# Categories that are tasks for staff whether or not the tenant alerts on them: the knowledge
# base cannot cancel a booking, find a wallet or assess damage.
STAFF_TASK_CATEGORIES: frozenset[EscalationCategory] = frozenset(
    {EscalationCategory.CANCELLATION, EscalationCategory.LOST_ITEM, EscalationCategory.DAMAGE}
)


def _load_patterns() -> dict[str, Any]:
    data = resources.files("domain.data").joinpath("escalation.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(data)
    return loaded


_PATTERNS = _load_patterns()
# Most severe first: when a message hits several categories the first one names the alert.
CATEGORY_PATTERNS: Mapping[EscalationCategory, tuple[str, ...]] = {
    EscalationCategory(name): tuple(patterns) for name, patterns in _PATTERNS["categories"].items()
}
# Explicit requests for a person rather than the assistant.
HUMAN_REQUEST_PATTERNS: tuple[str, ...] = tuple(_PATTERNS["human_request"])


def _compile(patterns: Iterable[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(patterns) + r")(?![a-z0-9])")


_CATEGORY_REGEXES: tuple[tuple[EscalationCategory, re.Pattern[str]], ...] = tuple(
    (category, _compile(patterns)) for category, patterns in CATEGORY_PATTERNS.items()
)
_HUMAN_REGEX = _compile(HUMAN_REQUEST_PATTERNS)


def detect_categories(text: str) -> list[EscalationCategory]:
    """Every escalation category the message mentions, most severe first."""
    folded = fold(text)
    return [category for category, regex in _CATEGORY_REGEXES if regex.search(folded)]


def first_category(text: str, enabled: Iterable[str]) -> EscalationCategory | None:
    """The most severe detected category that the tenant escalates on, if any."""
    wanted = {str(c) for c in enabled}
    return next((c for c in detect_categories(text) if c.value in wanted), None)


def asks_for_human(text: str) -> bool:
    """True when the guest explicitly asks for a person instead of the assistant."""
    return bool(_HUMAN_REGEX.search(fold(text)))


def is_urgent(category: EscalationCategory | str | None) -> bool:
    """Only emergencies bypass quiet hours and page staff at once."""
    return category == EscalationCategory.EMERGENCY


DEFAULT_ALERT_LADDER: tuple[timedelta, ...] = (
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(minutes=60),
)


def next_alert_at(
    first_sent_at: datetime,
    alerts_sent: int,
    ladder: Sequence[timedelta] = DEFAULT_ALERT_LADDER,
) -> datetime | None:
    """When to re-alert an unacknowledged notification, or None once the ladder is exhausted.

    ``alerts_sent`` counts alerts already sent, the first included; the n-th re-alert goes
    ``ladder[n - 1]`` after the first alert (offsets are cumulative from the first, not gaps,
    so a late sweep does not push every later rung back).
    """
    if first_sent_at.tzinfo is None:
        raise ValueError("first_sent_at must be timezone-aware")
    if alerts_sent < 1:
        raise ValueError("alerts_sent counts the first alert, so it is at least 1")
    rung = alerts_sent - 1
    if rung >= len(ladder):
        return None
    return first_sent_at + ladder[rung]
