"""The pure choice (``domain.routing``): which team by rule, which agent by skill, load and wait."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from domain.routing import (
    Candidate,
    Need,
    Rule,
    choose_agent,
    choose_team,
    language_of,
    topic_of,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
TEAM = uuid4()


def agent(**overrides: object) -> Candidate:
    values: dict[str, object] = {
        "user_id": uuid4(),
        "availability": "online",
        "capacity": 3,
        "open_conversations": 0,
        "skills": frozenset({"lang:en"}),
        "team_ids": frozenset({TEAM}),
        "last_assigned_at": NOW - timedelta(minutes=5),
    }
    values.update(overrides)
    return Candidate(**values)  # type: ignore[arg-type]


def chosen(
    candidates: list[Candidate], need: Need = Need(), team: UUID | None = TEAM
) -> UUID | None:
    picked = choose_agent(candidates, need, team_id=team)
    return picked.user_id if picked else None


def test_the_fewest_open_conversations_wins() -> None:
    busy, idle = agent(open_conversations=2), agent(open_conversations=1)
    assert chosen([busy, idle]) == idle.user_id


def test_a_tie_goes_to_whoever_waited_longest_and_never_assigned_waited_longest() -> None:
    recent = agent(last_assigned_at=NOW - timedelta(minutes=1))
    earlier = agent(last_assigned_at=NOW - timedelta(minutes=30))
    assert chosen([recent, earlier]) == earlier.user_id
    never = agent(last_assigned_at=None)
    assert chosen([recent, earlier, never]) == never.user_id


def test_nobody_at_capacity_away_offline_or_outside_the_team_gets_one() -> None:
    full = agent(open_conversations=3)
    away = agent(availability="away")
    offline = agent(availability="offline")
    elsewhere = agent(team_ids=frozenset({uuid4()}))
    zero = agent(capacity=0)
    assert chosen([full, away, offline, elsewhere, zero]) is None
    assert chosen([elsewhere], team=None) == elsewhere.user_id  # no team: anyone


def test_every_needed_skill_is_required() -> None:
    english = agent()
    spanish = agent(skills=frozenset({"lang:es"}))
    refunds_es = agent(skills=frozenset({"lang:es", "topic:refund"}), open_conversations=2)
    assert chosen([english, spanish], Need(language="es")) == spanish.user_id
    need = Need(language="es", topic="refund")
    assert need.skills == {"lang:es", "topic:refund"}
    assert chosen([english, spanish, refunds_es], need) == refunds_es.user_id
    assert chosen([english, spanish], need) is None
    assert chosen([english], Need()) == english.user_id


def test_took_one_counts_the_conversation_and_the_time() -> None:
    first = agent(capacity=1)
    after = first.took_one(NOW)
    assert (after.open_conversations, after.last_assigned_at) == (1, NOW)
    assert chosen([after]) is None


def test_the_most_specific_matching_rule_chooses_the_team_then_position() -> None:
    channel, place, other = uuid4(), uuid4(), uuid4()
    anywhere = Rule(uuid4(), "anywhere", 100, uuid4())
    on_channel = Rule(uuid4(), "channel", 100, uuid4(), channel_id=channel)
    refunds = Rule(uuid4(), "refunds", 100, uuid4(), channel_id=channel, topic="refund")
    refunds_first = replace(refunds, id=uuid4(), name="refunds-first", position=10)
    elsewhere = Rule(uuid4(), "elsewhere", 1, uuid4(), property_id=other)
    rules = [anywhere, on_channel, refunds, elsewhere]

    def team(topic: str | None, rules: list[Rule] = rules) -> Rule | None:
        return choose_team(rules, channel_id=channel, property_id=place, topic=topic)

    assert team("refund") == refunds
    assert team("complaint") == on_channel
    assert team(None) == on_channel
    assert team("refund", [*rules, refunds_first]) == refunds_first
    assert choose_team([elsewhere], channel_id=channel, property_id=place, topic=None) is None


def test_language_and_topic_as_skills_name_them() -> None:
    assert language_of("es-ES") == "es"
    assert language_of(" PT_br ") == "pt"
    assert language_of(None) is None
    assert language_of("klingon-tlh") is None
    assert topic_of("category=refund confidence=0.40") == "refund"
    assert topic_of("keyword category=lost_item") == "lost_item"
    assert topic_of("the guest asked for a person") is None
