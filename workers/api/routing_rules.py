"""Routing rules (``routing.manage``): which team a conversation needing a human goes to, by
channel, property and/or topic. Every criterion a rule names must match; the rule naming the
most wins, then the lowest ``position``; no rule matching leaves the conversation's team (or
none: any agent). ``humans_first`` sends every new conversation on the rule's channel to a
human at once, without waiting for an escalation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import BeforeValidator, Field, StringConstraints

from persistence.models import Channel, Property, RoutingRule, Team
from persistence.models.base import TenantOwned
from workers.api.config_rows import audited, deleted, found, patch
from workers.api.problems import conflict, invalid
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(tags=["routing"])
Managing = Annotated[Context, Depends(require("routing.manage"))]
Position = Annotated[int, Field(ge=0, le=10000)]


def _lowered(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


Topic = Annotated[
    str, BeforeValidator(_lowered), StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
]
REFERENCES: dict[str, tuple[type[TenantOwned], str]] = {
    "team_id": (Team, "team"),
    "channel_id": (Channel, "channel"),
    "property_id": (Property, "property"),
}


class RuleIn(Body):
    name: Name
    team_id: UUID
    channel_id: UUID | None = None
    property_id: UUID | None = None
    topic: Topic | None = None
    position: Position = 100
    humans_first: bool = False
    active: bool = True


class RulePatch(Body):
    name: Name | None = None
    team_id: UUID | None = None
    channel_id: UUID | None = None
    property_id: UUID | None = None
    topic: Topic | None = None
    position: Position | None = None
    humans_first: bool | None = None
    active: bool | None = None


class RuleOut(Out):
    id: UUID
    name: str
    team_id: UUID
    channel_id: UUID | None
    property_id: UUID | None
    topic: str | None
    position: int
    humans_first: bool
    active: bool
    updated_at: datetime


def _values(rule: RoutingRule) -> dict[str, Any]:
    return RuleOut.model_validate(rule).model_dump(mode="json", exclude={"id", "updated_at"})


async def _check(context: Context, values: dict[str, Any], *, other_than: UUID | None) -> None:
    """What a rule names is the tenant's, its name is unused, and humans_first has a channel."""
    for field, (model, what) in REFERENCES.items():
        if (
            values.get(field) is not None
            and await context.uow.configuration.get(model, values[field]) is None
        ):
            raise invalid(field, f"no {what} with this id")
    if values.get("humans_first") and values.get("channel_id") is None:
        raise invalid("humans_first", "needs a channel_id: new conversations on which channel")
    rules = await context.uow.configuration.list_all(RoutingRule, name=values["name"])
    if any(rule.id != other_than for rule in rules):
        raise conflict(f"a routing rule {values['name']!r} exists already")


@router.get("/routing/rules", response_model=list[RuleOut])
async def list_rules(context: Managing) -> list[RuleOut]:
    rules = await context.uow.configuration.list_all(
        RoutingRule, RoutingRule.position, RoutingRule.name
    )
    return [RuleOut.model_validate(rule) for rule in rules]


@router.post("/routing/rules", status_code=status.HTTP_201_CREATED, response_model=RuleOut)
async def create_rule(body: RuleIn, context: Managing) -> RuleOut:
    values = body.model_dump()
    await _check(context, values, other_than=None)
    rule = await context.uow.configuration.add(RoutingRule, **values)
    out = RuleOut.model_validate(rule)
    await audited(context, "routing_rule", rule.id, "create", new=_values(rule))
    await context.uow.commit()
    return out


@router.get("/routing/rules/{rule_id}", response_model=RuleOut)
async def get_rule(rule_id: UUID, context: Managing) -> RuleOut:
    return RuleOut.model_validate(await found(context, RoutingRule, rule_id, "routing rule"))


@router.patch("/routing/rules/{rule_id}", response_model=RuleOut)
async def update_rule(rule_id: UUID, body: RulePatch, context: Managing) -> RuleOut:
    """Change what is given; null clears ``channel_id``, ``property_id`` or ``topic``."""
    rule = await found(context, RoutingRule, rule_id, "routing rule")
    old = _values(rule)
    changes = body.model_dump(exclude_unset=True)
    current = {name: getattr(rule, name) for name in RulePatch.model_fields}
    await _check(context, {**current, **changes}, other_than=rule.id)
    patch(rule, changes, nullable=frozenset({"channel_id", "property_id", "topic"}))
    await context.uow.session.flush()
    await context.uow.session.refresh(rule)
    out = RuleOut.model_validate(rule)
    await audited(context, "routing_rule", rule.id, "update", old=old, new=_values(rule))
    await context.uow.commit()
    return out


@router.delete("/routing/rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: UUID, context: Managing) -> None:
    rule = await found(context, RoutingRule, rule_id, "routing rule")
    await deleted(context, rule, "routing_rule", _values(rule))
