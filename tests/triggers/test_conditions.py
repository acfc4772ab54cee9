"""The condition language on its own (pure): what it accepts, what it refuses and where, and how
ALL / ANY / NONE and each operator decide."""

from __future__ import annotations

from datetime import time
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.conditions import EVENTS, InvalidConditionsError, event_of, matches, parse

VIP_NEGATIVE: dict[str, Any] = {
    "event": "message.scored",
    "all": [
        {"field": "message.sentiment_label", "op": "eq", "value": "negative"},
        {"field": "reservation.tags", "op": "contains", "value": "VIP"},
    ],
    "actions": [{"type": "notify_staff", "detail": "Unhappy VIP", "urgent": True}],
}


def paths(raw: object) -> list[str]:
    with pytest.raises(InvalidConditionsError) as caught:
        parse(raw)
    return [issue.path for issue in caught.value.issues]


def test_the_vip_rule_parses_and_matches_only_an_unhappy_vip() -> None:
    rule = parse(VIP_NEGATIVE)
    assert rule.event == "message.scored"
    assert rule.actions[0].urgent is True
    unhappy_vip = {"message.sentiment_label": "Negative", "reservation.tags": ["vip", "late"]}
    assert matches(rule, unhappy_vip)
    assert not matches(rule, {**unhappy_vip, "message.sentiment_label": "neutral"})
    assert not matches(rule, {**unhappy_vip, "reservation.tags": []})
    assert not matches(rule, {"message.sentiment_label": "negative"})  # no stay at all


def test_any_and_none_and_nested_groups() -> None:
    rule = parse(
        {
            "event": "escalation.raised",
            "any": [
                {"field": "escalation.urgent", "op": "eq", "value": True},
                {
                    "all": [
                        {"field": "escalation.reason", "op": "in", "value": ["human_requested"]},
                        {"field": "reservation.nights", "op": "gte", "value": 7},
                    ]
                },
            ],
            "none": [{"field": "conversation.staff_replied", "op": "eq", "value": True}],
            "delay_minutes": 15,
            "actions": [{"type": "add_tag", "tag": "needs-call"}],
        }
    )
    assert rule.delay_minutes == 15
    base = {"escalation.urgent": False, "escalation.reason": "human_requested"}
    assert matches(rule, {**base, "reservation.nights": 7, "conversation.staff_replied": False})
    assert not matches(rule, {**base, "reservation.nights": 6})
    assert matches(rule, {"escalation.urgent": True})
    assert not matches(rule, {"escalation.urgent": True, "conversation.staff_replied": True})


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("ne", "resolved", "open", True),
        ("ne", "resolved", None, True),
        ("not_in", ["de", "fr"], "en", True),
        ("contains", "refund", "I want a REFUND now", True),
        ("not_contains", "refund", "thanks", True),
        ("is_set", None, "", False),
        ("is_not_set", None, None, True),
        ("lt", -0.5, -0.8, True),
        ("lte", -0.5, -0.4, False),
        ("gt", 2, "three", False),
    ],
)
def test_operators(op: str, value: Any, actual: Any, expected: bool) -> None:
    fields = {
        "ne": "conversation.status",
        "not_in": "guest.language",
        "contains": "message.text",
        "not_contains": "message.text",
        "is_set": "guest.language",
        "is_not_set": "reservation.room_type",
        "lt": "message.sentiment_score",
        "lte": "message.sentiment_score",
        "gt": "reservation.party_size",
    }
    condition: dict[str, Any] = {"field": fields[op], "op": op}
    if value is not None:
        condition["value"] = value
    rule = parse(
        {
            "event": "message.scored",
            "all": [condition],
            "actions": [{"type": "add_tag", "tag": "x"}],
        }
    )
    assert matches(rule, {fields[op]: actual}) is expected


def test_the_day_after_check_out_carries_its_offset_and_time() -> None:
    template_id = uuid4()
    rule = parse(
        {
            "event": "check_out.day",
            "offset_days": 1,
            "at": "10:30",
            "none": [{"field": "reservation.status", "op": "in", "value": ["cancelled"]}],
            "actions": [{"type": "send_template", "template_id": str(template_id)}],
        }
    )
    assert (rule.offset_days, rule.at, rule.template_id) == (1, time(10, 30), template_id)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ([], [""]),
        ({"event": "message.sent"}, ["event"]),
        ({**VIP_NEGATIVE, "color": "red"}, ["color"]),
        ({**VIP_NEGATIVE, "all": []}, ["all"]),
        (
            {**VIP_NEGATIVE, "all": [{"field": "guest.vip", "op": "eq", "value": 1}]},
            ["all.0.field"],
        ),
        (
            {**VIP_NEGATIVE, "all": [VIP_NEGATIVE["all"][0], {"field": "guest.language"}]},
            ["all.1.op"],
        ),
        (
            {"event": "reservation.changed", "all": [VIP_NEGATIVE["all"][0]], "actions": []},
            ["all.0.field", "actions"],
        ),
        (
            {**VIP_NEGATIVE, "any": [{"all": [{"field": "message.sentiment_score", "op": "gt"}]}]},
            ["any.0.all.0.value"],
        ),
        (
            {**VIP_NEGATIVE, "none": [{"all": [], "any": []}]},
            ["none.0"],
        ),
        (
            {**VIP_NEGATIVE, "all": [{"field": "reservation.tags", "op": "gt", "value": 1}]},
            ["all.0.op"],
        ),
        (
            {**VIP_NEGATIVE, "all": [{"field": "guest.language", "op": "in", "value": "de"}]},
            ["all.0.value"],
        ),
        (
            {
                **VIP_NEGATIVE,
                "all": [{"field": "guest.language", "op": "eq", "value": "de", "x": 1}],
            },
            ["all.0.x"],
        ),
        ({**VIP_NEGATIVE, "delay_minutes": -5}, ["delay_minutes"]),
        ({**VIP_NEGATIVE, "offset_days": 1}, ["offset_days"]),
        ({**VIP_NEGATIVE, "actions": [{"type": "call_the_police"}]}, ["actions.0.type"]),
        (
            {**VIP_NEGATIVE, "actions": [{"type": "send_template", "template_id": "nope"}]},
            ["actions.0.template_id"],
        ),
        (
            {**VIP_NEGATIVE, "actions": [{"type": "add_tag", "tag": "x", "to": "guest"}]},
            ["actions.0.to"],
        ),
        (
            {**VIP_NEGATIVE, "actions": [{"type": "notify_staff", "urgent": "yes"}]},
            ["actions.0.urgent"],
        ),
        (
            {"event": "check_out.day", "at": "25:00", "actions": VIP_NEGATIVE["actions"]},
            ["at"],
        ),
        ({"event": ["message.scored"]}, ["event"]),
        (
            {**VIP_NEGATIVE, "all": [{"field": {"a": 1}, "op": "eq", "value": 1}]},
            ["all.0.field"],
        ),
        (
            {**VIP_NEGATIVE, "all": [{"field": "guest.language", "op": ["eq"], "value": "de"}]},
            ["all.0.op"],
        ),
        ({**VIP_NEGATIVE, "actions": [{"type": {"x": 1}}]}, ["actions.0.type"]),
        (
            {**VIP_NEGATIVE, "actions": [{"type": "add_tag", "tag": "x", "to": ["guest"]}]},
            ["actions.0.to"],
        ),
    ],
)
def test_invalid_conditions_name_the_offending_part(raw: object, expected: list[str]) -> None:
    assert paths(raw) == expected


def test_groups_nest_only_so_deep() -> None:
    deep: dict[str, Any] = {"field": "guest.language", "op": "is_set"}
    for _ in range(5):
        deep = {"all": [deep]}
    assert paths({**VIP_NEGATIVE, "all": [deep]}) == ["all.0.all.0.all.0.all.0"]


def test_published_events_map_to_condition_events() -> None:
    assert event_of("reservation.changed", created=True) == (
        "reservation.created",
        "reservation.changed",
    )
    assert event_of("reservation.changed") == ("reservation.changed",)
    assert event_of("escalation.requested") == ("escalation.raised",)
    assert event_of("conversation.updated", change="status", to_value="resolved") == (
        "conversation.resolved",
    )
    assert event_of("conversation.updated", change="status", to_value="open") == ()
    assert event_of("conversation.updated", change="reply") == ()


def test_the_demo_condition_triggers_parse() -> None:
    from persistence.demo.tenants import AURORA

    [(name, conditions)] = AURORA.condition_triggers
    rule = parse(conditions)
    assert name == "Unhappy VIP"
    assert matches(rule, {"message.sentiment_label": "negative", "reservation.tags": ["VIP"]})


def test_a_whatsapp_template_name_goes_with_a_template_to_send() -> None:
    sends = {"type": "send_template", "template_id": str(uuid4())}
    rule = {"event": "check_out.day", "whatsapp_template": "review_request", "actions": [sends]}
    assert parse(rule).template_id is not None
    assert paths({**rule, "whatsapp_template": "Review Request"}) == ["whatsapp_template"]
    assert paths({**VIP_NEGATIVE, "whatsapp_template": "review_request"}) == ["whatsapp_template"]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
NAMES = st.sampled_from(["event", "all", "any", "none", "field", "op", "value", "actions", "type"])


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(NAMES, JSON, max_size=5)
    | st.fixed_dictionaries({"event": st.sampled_from(sorted(EVENTS))}, optional={"all": JSON})
)
def test_any_json_is_a_rule_or_a_list_of_issues(raw: dict[str, Any]) -> None:
    try:
        rule = parse(raw)
    except InvalidConditionsError as exc:
        issues = exc.issues
    else:
        issues = ()
        matches(rule, {})  # a parsed rule can always be evaluated
    assert all(isinstance(issue.path, str) and issue.message for issue in issues)
