"""What stops a flow from being published: every problem, with the path of what is wrong.

A publishable flow has unique step ids, names only steps that exist, gives every branch a
default, reaches every step from ``start``, cannot loop without waiting for the guest, and sets
every variable on every path before a text, condition or record uses it.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass

from domain.flows.model import (
    AskStep,
    BranchStep,
    ChoiceAnswer,
    EndStep,
    Flow,
    HandoffStep,
    LookupStep,
    MessageStep,
    NumberAnswer,
    PartySizeAnswer,
    RecordStep,
    SetStep,
)

# Known before the first step: the guest's name (may be empty) and the channel's provider.
BUILT_IN_VARIABLES = frozenset({"guest_name", "channel"})
TABLE_BOOKING_FIELDS = ("when", "party_size", "name")


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # "steps[3].next", "start"
    message: str


def placeholders(template: str) -> set[str]:
    """The variables a text names in braces; ValueError for a malformed one."""
    names = set()
    for _, field, _, _ in string.Formatter().parse(template):
        if field is not None:
            name = field.split(".")[0].split("[")[0]
            if not name:
                raise ValueError("a placeholder needs a variable name")
            names.add(name)
    return names


def edges(step: object) -> Iterator[tuple[str, str, str | None]]:
    """``(path, target, variable set on the way)`` for each step ``step`` may go on to."""
    match step:
        case MessageStep() | SetStep() | RecordStep():
            yield "next", step.next, step.variable if isinstance(step, SetStep) else None
        case AskStep():
            yield "next", step.next, step.variable
            if step.on_exhausted is not None:
                yield "on_exhausted", step.on_exhausted, None
        case LookupStep():
            yield "next", step.next, step.variable if step.not_found is not None else None
            if step.not_found is not None:
                yield "not_found", step.not_found, None
        case BranchStep():
            for index, case in enumerate(step.cases):
                yield f"cases[{index}].next", case.next, None
            if step.default is not None:
                yield "default", step.default, None


def problems(flow: Flow) -> list[Problem]:
    """Every reason ``flow`` cannot be published (empty: it can)."""
    found: list[Problem] = []
    index: dict[str, int] = {}
    for position, step in enumerate(flow.steps):
        if step.id in index:
            found.append(Problem(f"steps[{position}].id", f"step id {step.id!r} is used twice"))
        else:
            index[step.id] = position
    if flow.start not in index:
        found.append(Problem("start", f"no step has the id {flow.start!r}"))
    for position, step in enumerate(flow.steps):
        at = f"steps[{position}]"
        for path, target, _ in edges(step):
            if target not in index:
                found.append(Problem(f"{at}.{path}", f"no step has the id {target!r}"))
        found.extend(_step_problems(step, at))
    if flow.start in index:
        found.extend(_reachability(flow, index))
        found.extend(_loops(flow, index))
        found.extend(_variables(flow, index))
    return found


def _step_problems(step: object, at: str) -> Iterator[Problem]:
    if isinstance(step, BranchStep) and step.default is None:
        yield Problem(f"{at}.default", "a branch needs a default step")
    if isinstance(step, AskStep):
        answer = step.answer
        if isinstance(answer, ChoiceAnswer):
            values = [option.value for option in answer.options]
            for position, value in enumerate(values):
                if value in values[:position]:
                    yield Problem(f"{at}.answer.options[{position}].value", "used twice")
        if isinstance(answer, NumberAnswer | PartySizeAnswer) and (
            answer.minimum is not None
            and answer.maximum is not None
            and answer.minimum > answer.maximum
        ):
            yield Problem(f"{at}.answer.minimum", "greater than maximum")
    if isinstance(step, RecordStep):
        for field in TABLE_BOOKING_FIELDS:
            if field not in step.fields:
                yield Problem(f"{at}.fields.{field}", "a table booking needs this field")
    for path, template in _templates(step):
        try:
            placeholders(template)
        except ValueError as exc:
            yield Problem(f"{at}.{path}", f"malformed placeholder: {exc}")


def _templates(step: object) -> Iterator[tuple[str, str]]:
    match step:
        case MessageStep():
            yield "text", step.text
        case AskStep():
            yield "prompt", step.prompt
            if step.reprompt:
                yield "reprompt", step.reprompt
        case SetStep() if isinstance(step.value, str):
            yield "value", step.value
        case LookupStep():
            yield "query", step.query
        case RecordStep():
            for name, template in step.fields.items():
                yield f"fields.{name}", template
        case HandoffStep() | EndStep() if step.message:
            yield "message", step.message


def _reachability(flow: Flow, index: dict[str, int]) -> Iterator[Problem]:
    seen = {flow.start}
    pending = [flow.start]
    while pending:
        step = flow.steps[index[pending.pop()]]
        for _, target, _ in edges(step):
            if target in index and target not in seen:
                seen.add(target)
                pending.append(target)
    for position, step in enumerate(flow.steps):
        if step.id not in seen:
            yield Problem(f"steps[{position}]", f"step {step.id!r} cannot be reached from start")


def _loops(flow: Flow, index: dict[str, int]) -> Iterator[Problem]:
    """A cycle of steps none of which waits for the guest would run forever."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(step_id: str) -> str | None:
        state[step_id] = 1
        step = flow.steps[index[step_id]]
        if not isinstance(step, AskStep):
            for _, target, _ in edges(step):
                if target not in index or isinstance(flow.steps[index[target]], AskStep):
                    continue
                if state.get(target) == 1:
                    return target
                if target not in state and (looped := visit(target)):
                    return looped
        state[step_id] = 2
        return None

    reported = set()
    for step in flow.steps:
        if step.id not in state and (looped := visit(step.id)) and looped not in reported:
            reported.add(looped)
            yield Problem(
                f"steps[{index[looped]}]", f"step {looped!r} loops without asking the guest"
            )


def _variables(flow: Flow, index: dict[str, int]) -> Iterator[Problem]:
    """Definitely-set variables at each step (intersection over the paths into it)."""
    everything = frozenset(
        BUILT_IN_VARIABLES | {v for step in flow.steps for _, _, v in edges(step) if v is not None}
    )
    known: dict[str, frozenset[str]] = {step.id: everything for step in flow.steps}
    known[flow.start] = BUILT_IN_VARIABLES
    changed = True
    while changed:
        changed = False
        incoming: dict[str, frozenset[str]] = {flow.start: BUILT_IN_VARIABLES}
        for step in flow.steps:
            for _, target, variable in edges(step):
                if target not in index:
                    continue
                out = known[step.id] | ({variable} if variable else set())
                incoming[target] = incoming[target] & out if target in incoming else out
        for step_id, variables in incoming.items():
            if known[step_id] != variables:
                known[step_id] = variables
                changed = True
    for position, step in enumerate(flow.steps):
        available = known[step.id]
        at = f"steps[{position}]"
        for path, template in _templates(step):
            try:
                names = placeholders(template)
            except ValueError:
                continue
            for name in sorted(names - available):
                yield Problem(f"{at}.{path}", f"variable {name!r} may not be set here")
        if isinstance(step, BranchStep):
            for case_index, case in enumerate(step.cases):
                for cond_index, condition in enumerate(case.when):
                    if condition.op in ("set", "not_set"):
                        continue
                    if condition.variable not in available:
                        yield Problem(
                            f"{at}.cases[{case_index}].when[{cond_index}].variable",
                            f"variable {condition.variable!r} may not be set here",
                        )
