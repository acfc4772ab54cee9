"""Bot scenarios (``knowledge.manage``): create, add draft versions, publish; the flow format's
JSON Schema; and a conversation's dialogue as staff see it (``conversations.read``), which
staff may end (``conversations.takeover``).

Publishing checks the whole flow and refuses it with every problem and its path (422); a
dialogue already running finishes on the version it started with.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import Field

from domain.flows import json_schema
from persistence.flows import FlowRejected, add_version, publish
from persistence.models.bots import BotScenario, BotScenarioVersion
from workers.api.conversations import Scoped, conversation_for
from workers.api.problems import Problem, conflict, field_error, not_found
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(tags=["flows"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]
Readable = Annotated[Scoped, Depends(conversation_for("conversations.read"))]
TakingOver = Annotated[Scoped, Depends(conversation_for("conversations.takeover", for_update=True))]
ScenarioName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


class ScenarioCreate(Body):
    name: ScenarioName
    description: Name | None = None


class ScenarioUpdate(Body):
    active: bool


class ScenarioOut(Out):
    id: UUID
    name: str
    description: str | None
    active: bool
    published_version: int | None
    version: int


class VersionCreate(Body):
    flow: dict[str, Any]


class VersionOut(Out):
    version: int
    status: str
    published_at: datetime | None
    created_at: datetime
    flow: dict[str, Any]


class DialogOut(Out):
    conversation_id: UUID
    status: str  # idle, active, paused (staff took over), completed, cancelled, ...
    scenario: str | None
    version: int | None
    step: str | None
    collected: dict[str, Any]
    retries: int
    started_at: datetime | None
    expires_at: datetime | None
    ended_reason: str | None


def rejected(exc: FlowRejected) -> Problem:
    """Every problem of a flow, each with its path in the request body."""
    errors = [field_error("body", f"flow.{p.path}", p.message) for p in exc.problems]
    first = exc.problems[0]
    return Problem(
        422,
        f"the flow has {len(errors)} problem(s), first flow.{first.path}: {first.message}",
        kind="validation",
        errors=errors,
    )


async def _scenario(context: Context, scenario_id: UUID, *, lock: bool = False) -> BotScenario:
    row = await context.uow.flows.get_scenario(scenario_id=scenario_id, for_update=lock)
    if row is None:
        raise not_found("scenario")
    return row


async def _version(context: Context, scenario_id: UUID, version: int) -> BotScenarioVersion:
    row = await context.uow.flows.get_version(scenario_id=scenario_id, version=version)
    if row is None:
        raise not_found("scenario version")
    return row


async def _audit(
    context: Context, row_id: UUID, action: str, new: dict[str, object] | None
) -> None:
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="bot_scenario",
        resource_id=row_id,
        action=action,
        old=None,
        new=new,
    )


@router.get("/flows/schema", response_model=dict[str, Any])
async def flow_schema(context: Manage) -> dict[str, Any]:
    """The flow format as a JSON Schema (the repository's ``domain/flows/flow.schema.json``)."""
    del context
    return json_schema()


@router.get("/flows/scenarios", response_model=list[ScenarioOut])
async def list_scenarios(context: Manage) -> list[ScenarioOut]:
    return [ScenarioOut.model_validate(row) for row in await context.uow.flows.list_scenarios()]


@router.post("/flows/scenarios", status_code=status.HTTP_201_CREATED, response_model=ScenarioOut)
async def create_scenario(body: ScenarioCreate, context: Manage) -> ScenarioOut:
    if await context.uow.flows.find_scenario(name=body.name) is not None:
        raise conflict(f"a scenario named {body.name!r} exists")
    row = await context.uow.flows.add_scenario(name=body.name, description=body.description)
    await _audit(context, row.id, "create", {"name": row.name})
    out = ScenarioOut.model_validate(row)
    await context.uow.commit()
    return out


@router.get("/flows/scenarios/{scenario_id}", response_model=ScenarioOut)
async def get_scenario(scenario_id: UUID, context: Manage) -> ScenarioOut:
    return ScenarioOut.model_validate(await _scenario(context, scenario_id))


@router.patch("/flows/scenarios/{scenario_id}", response_model=ScenarioOut)
async def update_scenario(scenario_id: UUID, body: ScenarioUpdate, context: Manage) -> ScenarioOut:
    """Switch a scenario off (no new dialogues; running ones finish) or back on."""
    row = await _scenario(context, scenario_id, lock=True)
    await context.uow.flows.set_active(scenario=row, active=body.active)
    await _audit(context, row.id, "update", {"active": body.active})
    out = ScenarioOut.model_validate(row)
    await context.uow.commit()
    return out


@router.get("/flows/scenarios/{scenario_id}/versions", response_model=list[VersionOut])
async def list_versions(scenario_id: UUID, context: Manage) -> list[VersionOut]:
    await _scenario(context, scenario_id)
    rows = await context.uow.flows.list_versions(scenario_id=scenario_id)
    return [VersionOut.model_validate(row) for row in rows]


@router.post(
    "/flows/scenarios/{scenario_id}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
)
async def add_draft(scenario_id: UUID, body: VersionCreate, context: Manage) -> VersionOut:
    """A draft version: its structure must be valid; whether it can run is checked at publish."""
    row = await _scenario(context, scenario_id, lock=True)
    try:
        version = await add_version(context.uow, scenario=row, flow=body.flow)
    except FlowRejected as exc:
        raise rejected(exc) from None
    await _audit(context, row.id, "add_version", {"version": version.version})
    out = VersionOut.model_validate(version)
    await context.uow.commit()
    return out


@router.get("/flows/scenarios/{scenario_id}/versions/{version}", response_model=VersionOut)
async def get_version(scenario_id: UUID, version: int, context: Manage) -> VersionOut:
    await _scenario(context, scenario_id)
    return VersionOut.model_validate(await _version(context, scenario_id, version))


@router.post("/flows/scenarios/{scenario_id}/versions/{version}/publish", response_model=VersionOut)
async def publish_version(scenario_id: UUID, version: int, context: Manage) -> VersionOut:
    """New dialogues start on this version; 422 with every problem when it cannot run."""
    row = await _scenario(context, scenario_id, lock=True)
    draft = await _version(context, scenario_id, version)
    try:
        await publish(context.uow, scenario=row, version=draft, at=datetime.now(UTC))
    except FlowRejected as exc:
        raise rejected(exc) from None
    await _audit(context, row.id, "publish", {"version": version})
    out = VersionOut.model_validate(draft)
    await context.uow.commit()
    return out


async def _dialog_out(scoped: Scoped) -> DialogOut:
    uow, conversation = scoped.context.uow, scoped.conversation
    state = await uow.flows.dialog(conversation_id=conversation.id)
    if state is None:
        return DialogOut(
            conversation_id=conversation.id,
            status="idle",
            scenario=None,
            version=None,
            step=None,
            collected={},
            retries=0,
            started_at=None,
            expires_at=None,
            ended_reason=None,
        )
    scenario = (
        await uow.flows.get_scenario(scenario_id=state.scenario_id) if state.scenario_id else None
    )
    version = (
        await uow.flows.version_by_id(version_id=state.version_id) if state.version_id else None
    )
    paused = state.status == "active" and conversation.human_takeover
    return DialogOut(
        conversation_id=conversation.id,
        status="paused" if paused else state.status,
        scenario=scenario.name if scenario else None,
        version=version.version if version else None,
        step=state.current_step,
        collected=dict(state.collected),
        retries=state.retries,
        started_at=state.started_at,
        expires_at=state.expires_at,
        ended_reason=state.ended_reason,
    )


@router.get("/conversations/{conversation_id}/dialog", response_model=DialogOut)
async def get_dialog(scoped: Readable) -> DialogOut:
    """Where the conversation's bot dialogue is: scenario, version, step, what it collected."""
    return await _dialog_out(scoped)


@router.post("/conversations/{conversation_id}/dialog/end", response_model=DialogOut)
async def end_dialog(scoped: TakingOver) -> DialogOut:
    """Staff end the dialogue (handing the conversation back then lets the assistant answer
    as usual); without this, handing back resumes the dialogue where it paused."""
    uow = scoped.context.uow
    state = await uow.flows.lock_dialog(conversation_id=scoped.conversation.id)
    if state.status == "active":
        state.status, state.ended_reason = "cancelled", "ended_by_staff"
        state.current_step, state.expires_at = None, None
        await uow.flows.flush()
        await uow.audit.add(
            actor=scoped.context.principal.actor,
            resource="bot_dialog",
            resource_id=state.id,
            action="end",
            old=None,
            new={"conversation_id": str(scoped.conversation.id)},
        )
    out = await _dialog_out(scoped)
    await uow.commit()
    return out
