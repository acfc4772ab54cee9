"""The step engine: from where a guest is in a flow and what they wrote, to what the bot says,
what it records and where the guest is next. Pure: the caller stores the session, sends the
replies and applies the effects (a booking, a handoff to staff).

A turn runs steps until the flow waits for an answer (an ``ask``) or is over (``end``,
``handoff``, a cancel). Global commands (cancel, restart, talk to a human) are heard at every
step, before the answer is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from domain.flows.answers import Accepted, read_answer
from domain.flows.model import (
    AskStep,
    BranchStep,
    ChoiceAnswer,
    Condition,
    EndStep,
    Flow,
    HandoffStep,
    LookupStep,
    MessageStep,
    Option,
    RecordStep,
    Scalar,
    SetStep,
)
from domain.flows.phrases import Command, command_in, default_text

# More steps than this in one turn is a loop the checks could not see (they refuse known ones).
MAX_STEPS_PER_TURN = 200

Knowledge = Callable[[str], str | None]
Outcome = Literal["waiting", "completed", "cancelled", "handed_off"]


@dataclass(frozen=True, slots=True)
class Session:
    """Where a conversation is in a flow: the step waiting for an answer, what was collected
    and how many wrong answers that step has had."""

    step: str
    variables: dict[str, Scalar]
    retries: int = 0


@dataclass(frozen=True, slots=True)
class Say:
    text: str
    options: tuple[Option, ...] = ()


@dataclass(frozen=True, slots=True)
class Book:
    """Create a table booking from ``fields`` (``when``, ``party_size``, ``name``, ...)."""

    record: str
    fields: dict[str, Scalar]


@dataclass(frozen=True, slots=True)
class HandOff:
    """Tell staff: the reason and everything collected so far."""

    reason: str
    variables: dict[str, Scalar]
    urgent: bool = False


Effect = Book | HandOff


@dataclass(slots=True)
class Turn:
    outcome: Outcome
    session: Session | None  # None once the dialogue is over
    replies: list[Say] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # the steps run, in order
    variables: dict[str, Scalar] = field(default_factory=dict)  # collected, as the turn ends
    detail: str = ""  # why the turn ended as it did: "answered", "invalid:out_of_range", ...


def begin(flow: Flow, *, variables: dict[str, Scalar], knowledge: Knowledge) -> Turn:
    """Start ``flow`` with the built-in ``variables`` (guest_name, channel)."""
    turn = Turn("waiting", None, detail="started")
    return _run(flow, flow.start, dict(variables), knowledge, turn)


def answer(flow: Flow, session: Session, text: str, *, now: datetime, knowledge: Knowledge) -> Turn:
    """The guest wrote ``text`` while ``session`` waits; ``now`` in the property's time zone."""
    command = command_in(text)
    if command is Command.CANCEL:
        message = flow.cancel_message or default_text("cancelled", flow.language)
        say = Say(render(message, session.variables))
        return Turn("cancelled", None, [say], detail="cancel", variables=session.variables)
    if command is Command.RESTART:
        builtins = {k: v for k, v in session.variables.items() if k in ("guest_name", "channel")}
        turn = begin(flow, variables=builtins, knowledge=knowledge)
        turn.detail = "restart"
        return turn
    if command is Command.HUMAN:
        turn = Turn("waiting", None, detail="asked_for_human")
        return _hand_off(flow, turn, session.variables, "guest_asked_for_human", None, False)
    step = flow.step(session.step)
    if not isinstance(step, AskStep):  # a session only ever waits on an ask
        raise ValueError(f"session waits on {step.id!r}, which asks nothing")
    reading = read_answer(step.answer, text, now=now)
    if isinstance(reading, Accepted):
        variables = {**session.variables, step.variable: reading.value}
        turn = Turn("waiting", None, steps=[step.id], detail="answered")
        return _run(flow, step.next, variables, knowledge, turn)
    retries = session.retries + 1
    detail = f"invalid:{reading.reason}"
    if retries > step.max_retries:
        turn = Turn("waiting", None, steps=[step.id], detail=f"{detail} retries_exhausted")
        if step.on_exhausted is not None:
            return _run(flow, step.on_exhausted, dict(session.variables), knowledge, turn)
        return _hand_off(flow, turn, session.variables, "retries_exhausted", None, False)
    again = step.reprompt or f"{default_text('not_understood', flow.language)} {step.prompt}"
    say = Say(render(again, session.variables), _options(step))
    return Turn(
        "waiting",
        replace(session, retries=retries),
        [say],
        [],
        [step.id],
        session.variables,
        detail,
    )


def _run(
    flow: Flow, step_id: str, variables: dict[str, Scalar], knowledge: Knowledge, turn: Turn
) -> Turn:
    for _ in range(MAX_STEPS_PER_TURN):
        step = flow.step(step_id)
        turn.steps.append(step.id)
        turn.variables = variables
        match step:
            case MessageStep():
                turn.replies.append(Say(render(step.text, variables)))
                step_id = step.next
            case AskStep():
                turn.replies.append(Say(render(step.prompt, variables), _options(step)))
                turn.session = Session(step.id, variables)
                turn.outcome = "waiting"
                return turn
            case BranchStep():
                step_id = _branch(step, variables)
            case SetStep():
                given = step.value
                variables[step.variable] = (
                    render(given, variables) if isinstance(given, str) else given
                )
                step_id = step.next
            case LookupStep():
                found = knowledge(render(step.query, variables))
                if found:
                    variables[step.variable] = found
                    step_id = step.next
                else:
                    step_id = step.not_found or step.next
            case RecordStep():
                fields = {name: value(t, variables) for name, t in step.fields.items()}
                turn.effects.append(Book(step.record, fields))
                step_id = step.next
            case HandoffStep():
                return _hand_off(flow, turn, variables, step.reason, step.message, step.urgent)
            case EndStep():
                if step.message:
                    turn.replies.append(Say(render(step.message, variables)))
                turn.session = None
                turn.outcome = "completed"
                return turn
    return _hand_off(flow, turn, variables, "flow_loop", None, False)


def _hand_off(
    flow: Flow,
    turn: Turn,
    variables: dict[str, Scalar],
    reason: str,
    message: str | None,
    urgent: bool,
) -> Turn:
    turn.variables = dict(variables)
    text = message or flow.handoff_message or default_text("handoff", flow.language)
    turn.replies.append(Say(render(text, variables)))
    turn.effects.append(HandOff(reason, dict(variables), urgent))
    turn.session = None
    turn.outcome = "handed_off"
    return turn


def _options(step: AskStep) -> tuple[Option, ...]:
    return tuple(step.answer.options) if isinstance(step.answer, ChoiceAnswer) else ()


def _branch(step: BranchStep, variables: dict[str, Scalar]) -> str:
    for case in step.cases:
        if all(holds(condition, variables) for condition in case.when):
            return case.next
    if step.default is None:  # refused at publishing; a draft run stops here
        raise ValueError(f"branch {step.id!r} has no default")
    return step.default


def holds(condition: Condition, variables: dict[str, Scalar]) -> bool:
    present = condition.variable in variables and variables[condition.variable] not in ("", None)
    if condition.op == "set":
        return present
    if condition.op == "not_set":
        return not present
    if not present:
        return False
    left = variables[condition.variable]
    if condition.op == "in":
        candidates = condition.value if isinstance(condition.value, list) else [condition.value]
        return any(_equal(left, candidate) for candidate in candidates)
    right = condition.value
    if condition.op == "eq":
        return _equal(left, right)
    if condition.op == "ne":
        return not _equal(left, right)
    ordered = _ordered(left, right)
    if ordered is None:
        return False
    return _compare(condition.op, *ordered)


def _compare(op: str, a: float | str, b: float | str) -> bool:
    if isinstance(a, str) or isinstance(b, str):
        a, b = str(a), str(b)
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]
    return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]


def _equal(left: object, right: object) -> bool:
    ordered = _ordered(left, right)
    if ordered is not None:
        return ordered[0] == ordered[1]
    return str(left).casefold() == str(right).casefold()


def _ordered(left: object, right: object) -> tuple[float, float] | tuple[str, str] | None:
    """Both as numbers when both are numbers, both as text when both are text."""
    numbers = (int, float)
    if isinstance(left, numbers) and isinstance(right, numbers):
        return float(left), float(right)
    if isinstance(left, str) and isinstance(right, str):
        return left, right
    return None


class _Blank(dict[str, Scalar]):
    def __missing__(self, key: str) -> str:
        return ""


def render(template: str, variables: dict[str, Scalar]) -> str:
    """``template`` with ``{variable}`` replaced; an unset variable renders as nothing."""
    try:
        return template.format_map(_Blank(variables))
    except (ValueError, AttributeError, IndexError, KeyError):
        return template


def value(template: str, variables: dict[str, Scalar]) -> Scalar:
    """A record field: the variable itself when the template is just ``{name}``, else text."""
    inner = template[1:-1]
    if template.startswith("{") and template.endswith("}") and inner in variables:
        return variables[inner]
    return render(template, variables)
