"""The condition language of condition triggers: an event, conditions over it, and actions.

A condition trigger's ``conditions`` is one JSON object::

    {"event": "message.scored",
     "all": [{"field": "message.sentiment_label", "op": "eq", "value": "negative"},
             {"field": "reservation.tags", "op": "contains", "value": "VIP"}],
     "any": [...], "none": [...],
     "delay_minutes": 0,
     "actions": [{"type": "notify_staff", "detail": "Unhappy VIP", "urgent": true}]}

Every list given must hold: ``all`` each, ``any`` at least one, ``none`` not one. A list item
is a condition (``field``, ``op``, ``value``) or a group ``{"all" | "any" | "none": [...]}``.
``delay_minutes`` evaluates the conditions that many minutes after the event instead of at
once (``conversation.staff_replied`` then says whether staff answered meanwhile). The
``check_out.day`` event happens ``offset_days`` after the check-out day at ``at`` (local).
``whatsapp_template`` names the approved WhatsApp template a ``send_template`` action uses
outside WhatsApp's 24-hour window (as a time-based trigger's does).

``parse`` refuses anything else with every offending part's dotted path (``all.0.op``);
``matches`` evaluates a parsed rule against a flat context of ``owner.field`` values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any, Literal
from uuid import UUID

Kind = Literal["text", "number", "bool", "tags"]
# The fields a condition may name, and what they hold.
FIELDS: dict[str, Kind] = {
    "message.text": "text",
    "message.sentiment_label": "text",
    "message.sentiment_score": "number",
    "message.requires_attention": "bool",
    "escalation.reason": "text",
    "escalation.urgent": "bool",
    "conversation.status": "text",
    "conversation.priority": "text",
    "conversation.channel": "text",
    "conversation.tags": "tags",
    "conversation.staff_replied": "bool",
    "guest.language": "text",
    "reservation.status": "text",
    "reservation.tags": "tags",
    "reservation.nights": "number",
    "reservation.room_type": "text",
    "reservation.party_size": "number",
    "reservation.created": "bool",
}
# The owners of the fields each event can see. The guest, their stay and their conversation
# are always looked up: an event without a conversation sees the guest's latest one.
_ALWAYS = frozenset({"conversation", "guest", "reservation"})
EVENTS: dict[str, frozenset[str]] = {
    "reservation.created": _ALWAYS,
    "reservation.changed": _ALWAYS,
    "message.scored": _ALWAYS | {"message"},
    "escalation.raised": _ALWAYS | {"escalation"},
    "conversation.resolved": _ALWAYS,
    "check_out.day": _ALWAYS,
}
OPERATORS: dict[str, frozenset[Kind]] = {
    "eq": frozenset({"text", "number", "bool"}),
    "ne": frozenset({"text", "number", "bool"}),
    "in": frozenset({"text", "number"}),
    "not_in": frozenset({"text", "number"}),
    "gt": frozenset({"number"}),
    "gte": frozenset({"number"}),
    "lt": frozenset({"number"}),
    "lte": frozenset({"number"}),
    "contains": frozenset({"text", "tags"}),
    "not_contains": frozenset({"text", "tags"}),
    "is_set": frozenset({"text", "number", "bool", "tags"}),
    "is_not_set": frozenset({"text", "number", "bool", "tags"}),
}
GROUPS = ("all", "any", "none")
ACTIONS = ("notify_staff", "send_template", "add_tag")
TAG_TARGETS = ("conversation", "reservation")
MAX_DELAY_MINUTES = 7 * 24 * 60
MAX_OFFSET_DAYS = 30
MAX_DEPTH = 4
MAX_ITEMS = 50
MAX_TEXT = 500
TOP_KEYS = frozenset(
    {"event", *GROUPS, "delay_minutes", "offset_days", "at", "actions", "whatsapp_template"}
)
_WHATSAPP_NAME = re.compile(r"^[a-z0-9_]{1,512}$")


@dataclass(frozen=True, slots=True)
class Issue:
    """One thing wrong with a rule: where (a dotted path, empty for the whole) and what."""

    path: str
    message: str


class InvalidConditionsError(ValueError):
    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__("; ".join(f"{i.path or '(conditions)'}: {i.message}" for i in issues))
        self.issues = tuple(issues)


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Group:
    mode: Literal["all", "any", "none"]
    items: tuple[Condition | Group, ...]


@dataclass(frozen=True, slots=True)
class Action:
    type: str
    detail: str = ""
    urgent: bool = False
    template_id: UUID | None = None
    tag: str = ""
    to: str = "conversation"


@dataclass(frozen=True, slots=True)
class ConditionRule:
    event: str
    groups: tuple[Group, ...]
    actions: tuple[Action, ...]
    delay_minutes: int = 0
    offset_days: int = 0
    at: time = time(10)

    @property
    def template_id(self) -> UUID | None:
        """The template the rule sends, if it sends one."""
        return next((a.template_id for a in self.actions if a.type == "send_template"), None)


class _Reader:
    """Walks the raw JSON, collecting every issue with its path."""

    def __init__(self, owners: frozenset[str]) -> None:
        self.owners = owners
        self.issues: list[Issue] = []

    def fail(self, path: str, message: str) -> None:
        self.issues.append(Issue(path, message))

    def items(self, raw: object, path: str, depth: int) -> tuple[Condition | Group, ...]:
        if not isinstance(raw, list) or not raw:
            self.fail(path, "must be a non-empty list of conditions")
            return ()
        if len(raw) > MAX_ITEMS:
            self.fail(path, f"must hold at most {MAX_ITEMS} conditions")
            return ()
        read = (self.item(value, f"{path}.{index}", depth) for index, value in enumerate(raw))
        return tuple(item for item in read if item is not None)

    def item(self, raw: object, path: str, depth: int) -> Condition | Group | None:
        if not isinstance(raw, dict):
            self.fail(path, "must be an object")
            return None
        groups = [name for name in GROUPS if name in raw]
        if groups:
            if len(raw) != 1:
                self.fail(path, "a group holds exactly one of all, any or none and nothing else")
                return None
            if depth >= MAX_DEPTH:
                self.fail(path, f"groups nest at most {MAX_DEPTH} deep")
                return None
            mode = groups[0]
            return Group(mode, self.items(raw[mode], f"{path}.{mode}", depth + 1))  # type: ignore[arg-type]
        return self.condition(raw, path)

    def condition(self, raw: dict[str, Any], path: str) -> Condition | None:
        extra = sorted(set(raw) - {"field", "op", "value"})
        if extra:
            self.fail(f"{path}.{extra[0]}", "unknown key; a condition has field, op and value")
            return None
        name, op = raw.get("field"), raw.get("op")
        if not isinstance(name, str) or name not in FIELDS:
            self.fail(f"{path}.field", f"unknown field {name!r}; known: {', '.join(FIELDS)}")
            return None
        owner = str(name).split(".", 1)[0]
        if owner not in self.owners:
            self.fail(f"{path}.field", f"{name} is not known on this event")
            return None
        kind = FIELDS[name]
        if not isinstance(op, str) or op not in OPERATORS or kind not in OPERATORS[op]:
            usable = [o for o, kinds in OPERATORS.items() if kind in kinds]
            self.fail(f"{path}.op", f"must be one of {', '.join(usable)} for {name}")
            return None
        value = raw.get("value")
        problem = _value_problem(kind, op, value)
        if problem is not None:
            self.fail(f"{path}.value", problem)
            return None
        if op in ("in", "not_in"):
            value = tuple(value or ())
        return Condition(name, op, value)


def _scalar_problem(kind: Kind, value: object) -> str | None:
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "must be a number"
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        return f"must be a text of 1 to {MAX_TEXT} characters"
    return None


def _value_problem(kind: Kind, op: str, value: object) -> str | None:
    if op in ("is_set", "is_not_set"):
        return None if value is None else "takes no value"
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_ITEMS:
            return f"must be a list of 1 to {MAX_ITEMS} values"
        return next(filter(None, (_scalar_problem(kind, v) for v in value)), None)
    return _scalar_problem("text" if kind == "tags" else kind, value)


def _int(reader: _Reader, raw: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = raw.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        reader.fail(name, f"must be a whole number from {low} to {high}")
        return 0
    return value


def _action(reader: _Reader, raw: object, path: str) -> Action | None:
    if not isinstance(raw, dict):
        reader.fail(path, "must be an object")
        return None
    kind = raw.get("type")
    allowed = {
        "notify_staff": {"type", "detail", "urgent"},
        "send_template": {"type", "template_id"},
        "add_tag": {"type", "tag", "to"},
    }
    if not isinstance(kind, str) or kind not in allowed:
        reader.fail(f"{path}.type", f"must be one of {', '.join(ACTIONS)}")
        return None
    extra = sorted(set(raw) - allowed[kind])
    if extra:
        reader.fail(f"{path}.{extra[0]}", f"unknown key for {kind}")
        return None
    if kind == "notify_staff":
        detail, urgent = raw.get("detail", ""), raw.get("urgent", False)
        if not isinstance(detail, str) or len(detail) > MAX_TEXT:
            reader.fail(f"{path}.detail", f"must be a text of at most {MAX_TEXT} characters")
            return None
        if not isinstance(urgent, bool):
            reader.fail(f"{path}.urgent", "must be true or false")
            return None
        return Action(kind, detail=detail.strip(), urgent=urgent)
    if kind == "send_template":
        try:
            return Action(kind, template_id=UUID(str(raw.get("template_id"))))
        except ValueError:
            reader.fail(f"{path}.template_id", "must be a template id (a UUID)")
            return None
    tag, to = raw.get("tag"), raw.get("to", "conversation")
    if not isinstance(tag, str) or not 1 <= len(tag.strip()) <= 50:
        reader.fail(f"{path}.tag", "must be a tag name of 1 to 50 characters")
        return None
    if to not in TAG_TARGETS:
        reader.fail(f"{path}.to", f"must be one of {', '.join(TAG_TARGETS)}")
        return None
    return Action(kind, tag=tag.strip(), to=to)


def _actions(reader: _Reader, raw: object) -> tuple[Action, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= 5:
        reader.fail("actions", "must be a list of 1 to 5 actions")
        return ()
    read = [_action(reader, value, f"actions.{index}") for index, value in enumerate(raw)]
    actions = tuple(action for action in read if action is not None)
    if sum(action.type == "send_template" for action in actions) > 1:
        reader.fail("actions", "sends at most one template")
    return actions


def parse(raw: object) -> ConditionRule:
    """The rule ``raw`` describes; raises InvalidConditionsError naming every bad part."""
    if not isinstance(raw, dict):
        raise InvalidConditionsError([Issue("", "must be an object")])
    event = raw.get("event")
    if not isinstance(event, str) or event not in EVENTS:
        raise InvalidConditionsError([Issue("event", f"must be one of {', '.join(EVENTS)}")])
    reader = _Reader(EVENTS[event])
    for name in sorted(set(raw) - TOP_KEYS):
        reader.fail(name, "unknown key")
    groups = tuple(Group(m, reader.items(raw[m], m, 1)) for m in GROUPS if m in raw)  # type: ignore[arg-type]
    delay = _int(reader, raw, "delay_minutes", 0, MAX_DELAY_MINUTES)
    timed = event == "check_out.day"
    if not timed and ("offset_days" in raw or "at" in raw):
        reader.fail("offset_days" if "offset_days" in raw else "at", "only for check_out.day")
    offset = _int(reader, raw, "offset_days", 0, MAX_OFFSET_DAYS)
    at = time(10)
    if "at" in raw:
        try:
            at = time.fromisoformat(str(raw["at"]))
        except ValueError:
            reader.fail("at", "must be a time of day such as 10:00")
    if timed and delay:
        reader.fail("delay_minutes", "check_out.day is timed by offset_days and at")
    actions = _actions(reader, raw.get("actions"))
    if "whatsapp_template" in raw:
        name = raw["whatsapp_template"]
        if not isinstance(name, str) or not _WHATSAPP_NAME.match(name):
            reader.fail("whatsapp_template", "must be a WhatsApp template name (a-z, 0-9, _)")
        elif not any(action.type == "send_template" for action in actions):
            reader.fail("whatsapp_template", "only for a trigger that sends a template")
    if reader.issues:
        raise InvalidConditionsError(reader.issues)
    return ConditionRule(event, groups, actions, delay, offset, at)


def _holds(condition: Condition, context: Mapping[str, Any]) -> bool:
    value, op, wanted = context.get(condition.field), condition.op, condition.value
    if op == "is_set":
        return value not in (None, "", [], ())
    if op == "is_not_set":
        return value in (None, "", [], ())
    if value is None:
        return op in ("ne", "not_in", "not_contains")
    if isinstance(value, str) and isinstance(wanted, str):
        value, wanted = value.casefold(), wanted.casefold()
    if op in ("contains", "not_contains"):
        if isinstance(value, list | tuple | frozenset | set):
            found = str(wanted).casefold() in {str(v).casefold() for v in value}
        else:
            found = str(wanted) in str(value)
        return found if op == "contains" else not found
    if op in ("in", "not_in"):
        choices = {v.casefold() if isinstance(v, str) else v for v in wanted}
        found = (value.casefold() if isinstance(value, str) else value) in choices
        return found if op == "in" else not found
    comparisons = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    try:
        return bool(comparisons[op](value, wanted))
    except TypeError:  # a value of another kind than the field promises: not met
        return False


def _group_holds(group: Group, context: Mapping[str, Any]) -> bool:
    results = (
        _group_holds(item, context) if isinstance(item, Group) else _holds(item, context)
        for item in group.items
    )
    if group.mode == "all":
        return all(results)
    if group.mode == "any":
        return any(results)
    return not any(results)


def matches(rule: ConditionRule, context: Mapping[str, Any]) -> bool:
    """Whether every group of the rule holds for ``context`` (``owner.field`` -> value)."""
    return all(_group_holds(group, context) for group in rule.groups)


def event_of(
    routing_key: str, *, created: bool = False, change: str = "", to_value: str | None = None
) -> tuple[str, ...]:
    """The condition events a published event is (a new reservation is also a changed one)."""
    if routing_key == "reservation.changed":
        return ("reservation.created", "reservation.changed") if created else (routing_key,)
    if routing_key == "message.scored":
        return ("message.scored",)
    if routing_key == "escalation.requested":
        return ("escalation.raised",)
    if routing_key == "conversation.updated" and change == "status" and to_value == "resolved":
        return ("conversation.resolved",)
    return ()
