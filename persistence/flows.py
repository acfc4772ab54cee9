"""Scenario commands shared by the API, the CLI, the demo seed and the tests: create one, add a
draft version, publish one (refused, with every problem and its path, when it cannot run)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from domain.flows import Flow, Problem, problems
from persistence.models.bots import BotScenario, BotScenarioVersion
from persistence.uow import UnitOfWork


class FlowRejected(Exception):
    """The flow cannot be saved or published; ``problems`` says where and why."""

    def __init__(self, found: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in found))
        self.problems = found


@dataclass(frozen=True, slots=True)
class Published:
    scenario: BotScenario
    version: BotScenarioVersion


def parse_flow(flow: Any) -> Flow:
    """The flow's structure checked (a draft must parse); FlowRejected naming each path."""
    try:
        return Flow.model_validate(flow)
    except ValidationError as exc:
        raise FlowRejected(
            [
                Problem(_path(error["loc"]), error["msg"])
                for error in exc.errors(include_url=False, include_input=False)
            ]
        ) from None


STEP_TYPES = frozenset({"message", "ask", "branch", "set", "lookup", "record", "handoff", "end"})
ANSWER_KINDS = frozenset(
    {"text", "number", "datetime", "date", "time", "choice", "phone", "email", "party_size"}
)


def _path(location: tuple[Any, ...]) -> str:
    """pydantic's location as the document's path: ``steps[2].answer.maximum`` (the union
    member names pydantic inserts after a step and an answer are left out)."""
    path = ""
    parts = list(location)
    for index, part in enumerate(parts):
        before = parts[index - 2] if index >= 2 else None
        if isinstance(part, str) and (
            (before == "steps" and part in STEP_TYPES)
            or (parts[index - 1] == "answer" and part in ANSWER_KINDS)
        ):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "flow"


async def add_version(uow: UnitOfWork, *, scenario: BotScenario, flow: Any) -> BotScenarioVersion:
    """A draft version of ``scenario`` (locked), its structure checked."""
    parsed = parse_flow(flow)
    return await uow.flows.add_version(
        scenario=scenario, flow=parsed.model_dump(mode="json", exclude_defaults=False)
    )


async def publish(
    uow: UnitOfWork, *, scenario: BotScenario, version: BotScenarioVersion, at: datetime
) -> None:
    """New dialogues start on ``version`` once it passes every check."""
    found = problems(parse_flow(version.flow))
    if found:
        raise FlowRejected(found)
    await uow.flows.publish(scenario=scenario, version=version, at=at)


async def install(
    uow: UnitOfWork, *, name: str, flow: Any, at: datetime, description: str | None = None
) -> Published:
    """Create the scenario if needed, add ``flow`` as a version and publish it."""
    scenario = await uow.flows.find_scenario(name=name)
    if scenario is None:
        scenario = await uow.flows.add_scenario(name=name, description=description)
    version = await add_version(uow, scenario=scenario, flow=flow)
    await publish(uow, scenario=scenario, version=version, at=at)
    return Published(scenario, version)
