"""Triggers (``knowledge.manage``): what frontdesk does on its own, and when.

- ``time_based``: a template sent relative to a stay (``domain.scheduling``'s conditions:
  anchor, offset, send time, late-booking policy); ``template_id`` is required.
- ``condition_based``: an event, ALL / ANY / NONE conditions over it and actions
  (``domain.conditions``); its ``template_id`` is the one its ``send_template`` action names.

``GET/POST /triggers``, ``GET/PATCH /triggers/{id}`` (switch one off with ``active: false``),
``GET /triggers/{id}/firings``: what a condition trigger did, newest first. Conditions that do
not parse are a 422 naming each offending part by its dotted path (``conditions.all.0.op``);
nothing is written then. Every change writes an audit row in the same transaction.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from pydantic import Field

from domain.conditions import InvalidConditionsError, parse
from domain.scheduling import InvalidRuleError, rule_from_conditions
from persistence.models import Property, Template, Trigger
from workers.api.config_rows import audited, found
from workers.api.problems import Problem, conflict, field_error, invalid
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/triggers", tags=["triggers"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]
Kind = Literal["time_based", "condition_based"]
# Any time will do to check a time-based rule's shape (the property's own apply when planning).
_SEND_TIMES = {"T_MINUS_3": time(10), "T_MINUS_1": time(10), "DAY_OF": time(9)}


CONDITIONS_HELP = (
    "time_based: anchor, offset_days, send_at, offset_minutes, late_booking, min_nights, "
    "max_nights, languages, whatsapp_template. condition_based: event (reservation.created, "
    "reservation.changed, message.scored, escalation.raised, conversation.resolved, "
    "check_out.day), all / any / none lists of {field, op, value} or nested groups, "
    "delay_minutes, offset_days and at (check_out.day), whatsapp_template, and 1-5 actions: "
    "notify_staff {detail, urgent}, send_template {template_id}, add_tag {tag, to: "
    "conversation | reservation}."
)
Conditions = Annotated[
    dict[str, Any],
    Field(
        description=CONDITIONS_HELP,
        examples=[
            {
                "event": "message.scored",
                "all": [
                    {"field": "message.sentiment_label", "op": "eq", "value": "negative"},
                    {"field": "reservation.tags", "op": "contains", "value": "VIP"},
                ],
                "actions": [{"type": "notify_staff", "detail": "Unhappy VIP", "urgent": True}],
            }
        ],
    ),
]


class TriggerIn(Body):
    name: Name
    kind: Kind = "condition_based"
    template_id: UUID | None = None
    property_id: UUID | None = None
    conditions: Conditions
    active: bool = True


class TriggerPatch(Body):
    name: Name | None = None
    template_id: UUID | None = None
    property_id: UUID | None = None
    conditions: Conditions | None = None
    active: bool | None = None


class TriggerOut(Out):
    id: UUID
    name: str
    kind: str
    template_id: UUID | None
    property_id: UUID | None
    conditions: dict[str, Any]
    active: bool
    updated_at: datetime


class FiringOut(Out):
    id: UUID
    trigger_id: UUID
    subject: str
    event: str
    status: str
    event_at: datetime
    due_at: datetime | None
    decided_at: datetime | None
    conversation_id: UUID | None
    reservation_id: UUID | None
    message_id: UUID | None
    outcomes: list[dict[str, Any]]
    created_at: datetime


def _values(row: Trigger) -> dict[str, Any]:
    return TriggerOut.model_validate(row).model_dump(mode="json", exclude={"updated_at"})


async def _checked(
    context: Context,
    *,
    kind: str,
    conditions: dict[str, Any],
    template_id: UUID | None,
    property_id: UUID | None,
) -> UUID | None:
    """Refuse conditions, a template or a property that do not hold; the template to keep."""
    if kind == "condition_based":
        try:
            rule = parse(conditions)
        except InvalidConditionsError as exc:
            errors = [
                field_error("body", ".".join(filter(None, ("conditions", i.path))), i.message)
                for i in exc.issues
            ]
            raise Problem(422, f"conditions: {exc}", kind="validation", errors=errors) from None
        if template_id is not None and template_id != rule.template_id:
            raise invalid("template_id", "a condition trigger sends the template its action names")
        template_id = rule.template_id
        field = "conditions.actions"
    else:
        if template_id is None:
            raise invalid("template_id", "a time-based trigger names its template")
        field = "template_id"
    template = None
    if template_id is not None:
        template = await context.uow.configuration.get(Template, template_id)
        if template is None or template.deleted_at is not None:
            raise invalid(field, f"no live template {template_id}")
    if kind == "time_based":
        assert template is not None
        try:
            rule_from_conditions(template.rule_key, conditions, _SEND_TIMES)
        except InvalidRuleError as exc:
            raise invalid(f"conditions.{exc.field}", str(exc).partition(": ")[2]) from None
    if (
        property_id is not None
        and await context.uow.configuration.get(Property, property_id) is None
    ):
        raise invalid("property_id", "no such property")
    return template_id


async def _name_free(context: Context, name: str, *, other_than: UUID | None = None) -> None:
    taken = await context.uow.configuration.list_all(Trigger, name=name)
    if any(row.id != other_than for row in taken):
        raise conflict(f"a trigger is already named {name!r}")


@router.get("", response_model=list[TriggerOut])
async def list_triggers(context: Manage) -> list[TriggerOut]:
    rows = await context.uow.configuration.list_all(Trigger, Trigger.name)
    return [TriggerOut.model_validate(row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TriggerOut)
async def create_trigger(body: TriggerIn, context: Manage) -> TriggerOut:
    """A new trigger; conditions are checked before anything is written."""
    template_id = await _checked(
        context,
        kind=body.kind,
        conditions=body.conditions,
        template_id=body.template_id,
        property_id=body.property_id,
    )
    await _name_free(context, body.name)
    row = await context.uow.configuration.add(
        Trigger, **body.model_dump(exclude={"template_id"}), template_id=template_id
    )
    await audited(context, "trigger", row.id, "create", new=_values(row))
    await context.uow.commit()
    return TriggerOut.model_validate(row)


@router.get("/{trigger_id}", response_model=TriggerOut)
async def get_trigger(trigger_id: UUID, context: Manage) -> TriggerOut:
    return TriggerOut.model_validate(await found(context, Trigger, trigger_id, "trigger"))


@router.patch("/{trigger_id}", response_model=TriggerOut)
async def update_trigger(trigger_id: UUID, body: TriggerPatch, context: Manage) -> TriggerOut:
    """Change a trigger; new conditions are checked as on creation (``property_id`` null: every
    property)."""
    row = await found(context, Trigger, trigger_id, "trigger")
    old = _values(row)
    values = body.model_dump(exclude_unset=True)
    for name in ("name", "conditions", "active"):
        if name in values and values[name] is None:
            raise invalid(name, "cannot be null")
    if "name" in values:
        await _name_free(context, values["name"], other_than=row.id)
    if {"conditions", "template_id", "property_id"} & values.keys():
        template_id = values.get("template_id")
        if row.kind == "time_based":
            template_id = template_id or row.template_id
        values["template_id"] = await _checked(
            context,
            kind=row.kind,
            conditions=values.get("conditions", row.conditions),
            template_id=template_id,
            property_id=values.get("property_id", row.property_id),
        )
    for name, value in values.items():
        setattr(row, name, value)
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    if _values(row) != old:
        await audited(context, "trigger", row.id, "update", old=old, new=_values(row))
    await context.uow.commit()
    return TriggerOut.model_validate(row)


@router.get("/{trigger_id}/firings", response_model=list[FiringOut])
async def list_firings(
    trigger_id: UUID,
    context: Manage,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[datetime | None, Query(description="Only firings created before.")] = None,
) -> list[FiringOut]:
    """What the trigger decided, newest first: one firing per subject at most."""
    await found(context, Trigger, trigger_id, "trigger")
    rows = await context.uow.condition_triggers.list_firings(
        trigger_id=trigger_id, limit=limit, before=before
    )
    return [FiringOut.model_validate(row) for row in rows]
