"""Report figures computed in PostgreSQL: response and resolution times (p50/p90/p95), service
level compliance and the assistant's decisions, per property, team, agent or channel, with the
whole scope's total.

Each figure is one aggregate statement over one tenant's period, read through an index that
starts with ``tenant_id`` and the period's column (migration 0017): conversations by
``first_message_at``, inbound messages by ``created_at``. Only aggregated rows (one per group,
plus the total) come back to Python. ``ROLLUP(key)`` gives the groups and the total in one
pass; ``grouping(key)`` tells the total from a group whose key is NULL (no team, unassigned).

The statements are built by module functions so a test can EXPLAIN exactly what runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, array

from domain.inbox import Scope
from domain.reports import PERCENTILES
from persistence.models import (
    Channel,
    Conversation,
    Message,
    Property,
    SlaViolation,
    Team,
    User,
)
from persistence.repositories.base import Repository
from persistence.repositories.inbox import visible_to

DECISIONS = ("reply", "escalate", "skip")
Percentiles = tuple[float | None, float | None, float | None]
Statement = Select[*tuple[Any, ...]]
_NONE: Percentiles = (None, None, None)


@dataclass(frozen=True, slots=True)
class ReportQuery:
    """What a report covers: ``[start_at, end_at)``, grouped by ``group_by``, within ``scope``."""

    start_at: datetime
    end_at: datetime
    group_by: str
    scope: Scope


@dataclass(frozen=True, slots=True)
class ResponseTimes:
    """Conversations the guest opened in the period; durations in seconds."""

    key: UUID | None
    total: bool
    conversations: int
    answered: int
    first_response: Percentiles
    resolved: int
    resolution: Percentiles


@dataclass(frozen=True, slots=True)
class Decisions:
    """Inbound messages of the period and what the assistant decided for them."""

    key: UUID | None
    total: bool
    inbound: int
    decided: int
    reply: int
    escalate: int
    skip: int


@dataclass(frozen=True, slots=True)
class ServiceLevels:
    """Of the conversations the guest opened in the period, per kind of target: how many had
    one, and how many of those have no breach of it recorded."""

    key: UUID | None
    total: bool
    first_response_targets: int
    first_response_met: int
    next_response_targets: int
    next_response_met: int
    resolution_targets: int
    resolution_met: int


# Each kind of target, and the conversation's copy of it (set when a policy applied; editing
# the policy later does not change it).
_TARGETS: dict[str, Any] = {
    "first_response": Conversation.sla_first_response_minutes,
    "next_response": Conversation.sla_next_response_minutes,
    "resolution": Conversation.sla_resolution_minutes,
}


def _seconds(later: Any, earlier: Any) -> ColumnElement[float]:
    """``later - earlier`` in seconds, never below zero (NULL when either is NULL)."""
    # Not greatest(): it skips NULLs, and would make an unanswered conversation a 0 s answer.
    return case((later < earlier, 0.0), else_=func.extract("epoch", later - earlier))


def _percentiles(seconds: ColumnElement[float]) -> ColumnElement[Any]:
    fractions = array([literal(p, Float) for p in PERCENTILES])
    return func.percentile_cont(cast(fractions, ARRAY(Float))).within_group(seconds)


def _conversation_key(group_by: str) -> ColumnElement[Any] | None:
    """The column a conversation is grouped by (None: the total alone)."""
    keys: dict[str, Any] = {
        "none": None,
        "property": Channel.property_id,
        "team": Conversation.team_id,
        "agent": Conversation.assignee_id,
        "channel": Conversation.channel_id,
    }
    key: ColumnElement[Any] | None = keys[group_by]
    return key


def _message_key(group_by: str) -> ColumnElement[Any] | None:
    keys: dict[str, Any] = {
        "none": None,
        "property": Channel.property_id,
        "team": Conversation.team_id,
        "agent": Conversation.assignee_id,
        "channel": Message.channel_id,
    }
    key: ColumnElement[Any] | None = keys[group_by]
    return key


def _grouped(statement: Statement, key: ColumnElement[Any] | None) -> Statement:
    """Groups and total in one pass; without a key, the total alone."""
    if key is None:
        return statement.add_columns(null().label("key"), literal(True).label("total"))
    return statement.add_columns(
        key.label("key"), (func.grouping(key) == 1).label("total")
    ).group_by(func.rollup(key))


def _channel_join() -> ColumnElement[bool]:
    return and_(Channel.tenant_id == Conversation.tenant_id, Channel.id == Conversation.channel_id)


def response_times_statement(tenant_id: UUID, query: ReportQuery) -> Statement:
    """Counts and percentiles of the conversations the guest opened in the period."""
    first = _seconds(Conversation.first_response_at, Conversation.first_message_at)
    resolution = _seconds(Conversation.closed_at, Conversation.first_message_at)
    statement = select(
        func.count().label("conversations"),
        func.count(Conversation.first_response_at).label("answered"),
        _percentiles(first).label("first_response"),
        func.count(Conversation.closed_at).label("resolved"),
        _percentiles(resolution).label("resolution"),
    ).where(*_opened_in(tenant_id, query), _guest_wrote_first())
    if query.group_by == "property":
        statement = statement.select_from(Conversation).join(Channel, _channel_join())
    return _grouped(statement, _conversation_key(query.group_by))


def _guest_wrote_first() -> ColumnElement[bool]:
    """The guest wrote before the first response: a conversation a pre-arrival message (or a
    reply sent from a phone) opened has its first_message_at and first_response_at set by
    that message, and its 0 s would be no response time of anyone."""
    return (
        select(Message.id)
        .where(
            Message.tenant_id == Conversation.tenant_id,
            Message.conversation_id == Conversation.id,
            Message.direction == "inbound",
            or_(
                Conversation.first_response_at.is_(None),
                Message.created_at <= Conversation.first_response_at,
            ),
        )
        .exists()
    )


def _opened_in(tenant_id: UUID, query: ReportQuery) -> list[ColumnElement[bool]]:
    return [
        Conversation.tenant_id == tenant_id,
        Conversation.first_message_at >= query.start_at,
        Conversation.first_message_at < query.end_at,
        visible_to(query.scope),
    ]


def service_levels_statement(tenant_id: UUID, query: ReportQuery) -> Statement:
    """Per kind of target: the period's conversations with one, and those with no breach."""
    columns: list[ColumnElement[Any]] = []
    for kind, target in _TARGETS.items():
        breached = (
            select(SlaViolation.id)
            .where(
                SlaViolation.tenant_id == Conversation.tenant_id,
                SlaViolation.conversation_id == Conversation.id,
                SlaViolation.kind == kind,
            )
            .exists()
        )
        columns.append(func.count(target).label(f"{kind}_targets"))
        columns.append(
            func.count(case((and_(target.is_not(None), ~breached), 1))).label(f"{kind}_met")
        )
    statement = select(*columns).where(*_opened_in(tenant_id, query))
    if query.group_by == "property":
        statement = statement.select_from(Conversation).join(Channel, _channel_join())
    return _grouped(statement, _conversation_key(query.group_by))


def decisions_statement(tenant_id: UUID, query: ReportQuery) -> Statement:
    """The period's inbound messages, and how many of them the assistant replied to,
    escalated or skipped."""

    def decided(decision: str) -> ColumnElement[int]:
        return func.count(case((Message.ai_decision == decision, 1))).label(decision)

    statement = (
        select(
            func.count().label("inbound"),
            func.count(Message.ai_decision).label("decided"),
            *(decided(decision) for decision in DECISIONS),
        )
        .select_from(Message)
        .where(
            Message.tenant_id == tenant_id,
            Message.direction == "inbound",
            Message.created_at >= query.start_at,
            Message.created_at < query.end_at,
        )
    )
    if query.group_by in ("team", "agent") or not query.scope.everything:
        statement = statement.join(
            Conversation,
            and_(
                Conversation.tenant_id == Message.tenant_id,
                Conversation.id == Message.conversation_id,
            ),
        ).where(visible_to(query.scope))
    if query.group_by == "property":
        statement = statement.join(
            Channel, and_(Channel.tenant_id == Message.tenant_id, Channel.id == Message.channel_id)
        )
    return _grouped(statement, _message_key(query.group_by))


def _rounded(values: Sequence[float | None] | None) -> Percentiles:
    if values is None:
        return _NONE
    first, second, third = (None if v is None else round(float(v), 3) for v in values)
    return (first, second, third)


class ReportRepository(Repository):
    async def response_times(self, *, query: ReportQuery) -> list[ResponseTimes]:
        """Per group and in total: conversations opened, answered and resolved, and the
        percentiles of their first-response and resolution times."""
        rows = await self.session.execute(response_times_statement(self.tenant_id, query))
        return [
            ResponseTimes(
                key=row.key,
                total=bool(row.total),
                conversations=int(row.conversations),
                answered=int(row.answered),
                first_response=_rounded(row.first_response),
                resolved=int(row.resolved),
                resolution=_rounded(row.resolution),
            )
            for row in rows
        ]

    async def decisions(self, *, query: ReportQuery) -> list[Decisions]:
        """Per group and in total: inbound messages and the assistant's decisions on them."""
        rows = await self.session.execute(decisions_statement(self.tenant_id, query))
        return [
            Decisions(
                key=row.key,
                total=bool(row.total),
                inbound=int(row.inbound),
                decided=int(row.decided),
                reply=int(row.reply),
                escalate=int(row.escalate),
                skip=int(row.skip),
            )
            for row in rows
        ]

    async def service_levels(self, *, query: ReportQuery) -> list[ServiceLevels]:
        """Per group and in total: targets set and met, per kind of target."""
        rows = await self.session.execute(service_levels_statement(self.tenant_id, query))
        return [
            ServiceLevels(
                key=row.key,
                total=bool(row.total),
                first_response_targets=int(row.first_response_targets),
                first_response_met=int(row.first_response_met),
                next_response_targets=int(row.next_response_targets),
                next_response_met=int(row.next_response_met),
                resolution_targets=int(row.resolution_targets),
                resolution_met=int(row.resolution_met),
            )
            for row in rows
        ]

    async def labels(self, *, group_by: str, keys: Iterable[UUID]) -> dict[UUID, str]:
        """What to call each group: the property's, team's or channel's name, the agent's."""
        wanted = list(keys)
        if not wanted or group_by == "none":
            return {}
        names: dict[str, tuple[Any, Any]] = {
            "property": (Property, Property.name),
            "team": (Team, Team.name),
            "agent": (User, func.coalesce(func.nullif(User.full_name, ""), User.email)),
            "channel": (Channel, Channel.name),
        }
        model, name = names[group_by]
        statement = select(model.id, name).where(
            model.tenant_id == self.tenant_id, model.id.in_(wanted)
        )
        return {row[0]: str(row[1]) for row in (await self.session.execute(statement)).all()}
