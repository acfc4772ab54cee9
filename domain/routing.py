"""Who gets a conversation that needs a human: the team (by rule) and the agent (by skill and load).

Skills are named ``lang:<code>`` (the guest's language, e.g. ``lang:es``) and
``topic:<name>`` (an escalation's topic, e.g. ``topic:refund``). An agent is a candidate when
online, with every needed skill and fewer open conversations than their capacity; of those,
the one with the fewest open conversations gets it, ties going to whoever waited longest since
their last assignment (never assigned counts as longest).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal
from uuid import UUID

Availability = Literal["online", "away", "offline"]
AVAILABILITIES: tuple[Availability, ...] = ("online", "away", "offline")
_CATEGORY = re.compile(r"(?:^|\s)category=([a-z0-9][a-z0-9_-]{0,62})(?:\s|$)")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@dataclass(frozen=True, slots=True)
class Need:
    """What the conversation asks of its agent: the guest's language and the topic, if known."""

    language: str | None = None
    topic: str | None = None

    @property
    def skills(self) -> frozenset[str]:
        needed = set()
        if self.language:
            needed.add(f"lang:{self.language}")
        if self.topic:
            needed.add(f"topic:{self.topic}")
        return frozenset(needed)


@dataclass(frozen=True, slots=True)
class Candidate:
    user_id: UUID
    availability: Availability
    capacity: int
    open_conversations: int
    skills: frozenset[str]
    team_ids: frozenset[UUID]
    # Since when they have waited for a conversation (their last assignment, or never: None).
    last_assigned_at: datetime | None

    def can_take(self, need: Need, team_id: UUID | None) -> bool:
        return (
            self.availability == "online"
            and self.open_conversations < self.capacity
            and need.skills <= self.skills
            and (team_id is None or team_id in self.team_ids)
        )

    def took_one(self, at: datetime) -> Candidate:
        return replace(self, open_conversations=self.open_conversations + 1, last_assigned_at=at)


@dataclass(frozen=True, slots=True)
class Rule:
    id: UUID
    name: str
    position: int
    team_id: UUID
    channel_id: UUID | None = None
    property_id: UUID | None = None
    topic: str | None = None

    def matches(self, *, channel_id: UUID, property_id: UUID | None, topic: str | None) -> bool:
        return (
            (self.channel_id is None or self.channel_id == channel_id)
            and (self.property_id is None or self.property_id == property_id)
            and (self.topic is None or self.topic == topic)
        )

    @property
    def specificity(self) -> int:
        return sum(value is not None for value in (self.channel_id, self.property_id, self.topic))


def choose_team(
    rules: Iterable[Rule], *, channel_id: UUID, property_id: UUID | None, topic: str | None
) -> Rule | None:
    """The matching rule naming the most criteria, then the lowest position, then by name."""
    matching = [
        rule
        for rule in rules
        if rule.matches(channel_id=channel_id, property_id=property_id, topic=topic)
    ]
    if not matching:
        return None
    return min(matching, key=lambda rule: (-rule.specificity, rule.position, rule.name))


def choose_agent(
    candidates: Sequence[Candidate], need: Need, *, team_id: UUID | None
) -> Candidate | None:
    """The agent who takes it, or None when nobody can now."""
    able = [candidate for candidate in candidates if candidate.can_take(need, team_id)]
    if not able:
        return None
    return min(
        able,
        key=lambda c: (
            c.open_conversations,
            c.last_assigned_at is not None,
            c.last_assigned_at or datetime.min,
            str(c.user_id),
        ),
    )


def language_of(value: str | None) -> str | None:
    """A guest's language as a skill names it: ``es-ES`` -> ``es``; unknown -> None."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip().lower(), maxsplit=1)[0]
    return primary if _LANGUAGE.match(primary) else None


def topic_of(detail: str) -> str | None:
    """An escalation's topic, from its ``category=<name>`` detail."""
    found = _CATEGORY.search(detail)
    return found.group(1) if found else None
