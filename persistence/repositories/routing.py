"""Routing's reads and writes: the queue of conversations waiting for an agent, the agents who
could take them (availability, capacity, skills, teams, open conversations), the rules, and an
assignment by the router.

Every routing pass of a tenant holds the tenant's routing lock (a transaction-scoped advisory
lock) from before it counts anyone's open conversations until it commits: two workers never
count the same free place twice, so no agent goes past capacity. A conversation is taken by a
conditional UPDATE (still unassigned, still waiting, no person's choice), so it never gets two
assignees, and a person assigning it at the same moment wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast
from uuid import UUID

from sqlalchemy import and_, case, func, literal, select, update
from sqlalchemy.dialects.postgresql import aggregate_order_by, array, insert

from domain.routing import Availability, Candidate, Rule
from persistence.models import (
    AgentSkill,
    AgentStatus,
    Channel,
    Conversation,
    ConversationEvent,
    Guest,
    Permission,
    RolePermission,
    RoutingRule,
    TeamMembership,
    User,
    UserRole,
)
from persistence.models.conversations import OPEN_STATUSES
from persistence.repositories.base import Repository

REPLY = "conversations.reply"
DEFAULT_CAPACITY = 5


@dataclass(frozen=True, slots=True)
class Waiting:
    """A conversation in the queue, with what choosing its team and agent needs."""

    conversation_id: UUID
    channel_id: UUID
    property_id: UUID | None
    team_id: UUID | None
    topic: str | None
    language: str | None
    waiting_since: datetime


@dataclass(frozen=True, slots=True)
class AgentRow:
    """An agent as the API lists them."""

    candidate: Candidate
    email: str
    full_name: str
    availability_changed_at: datetime | None


class RoutingRepository(Repository):
    async def lock(self) -> None:
        """Hold the tenant's routing lock until the transaction ends."""
        key = func.hashtextextended(literal("routing:") + str(self.tenant_id), 0)
        await self.session.execute(select(func.pg_advisory_xact_lock(key)))

    async def request(self, *, conversation_id: UUID, topic: str | None, at: datetime) -> bool:
        """Queue the conversation for an agent (it keeps its place if queued already); False
        when it has an assignee, a person chose its assignment, or it is over."""
        result = await self.session.execute(
            update(Conversation)
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.id == conversation_id,
                Conversation.assignee_id.is_(None),
                Conversation.assignment_manual.is_(False),
                Conversation.status.in_(OPEN_STATUSES),
            )
            .values(
                routing_requested_at=func.coalesce(Conversation.routing_requested_at, at),
                routing_topic=func.coalesce(topic, Conversation.routing_topic),
                updated_at=func.now(),
            )
            .execution_options(synchronize_session=False)
        )
        return cast(int, getattr(result, "rowcount", 0)) > 0

    async def leave_queue(self, *, conversation_id: UUID) -> None:
        """The conversation no longer waits (resolved or closed while in the queue)."""
        await self.session.execute(
            update(Conversation)
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.id == conversation_id,
                Conversation.routing_requested_at.is_not(None),
            )
            .values(routing_requested_at=None, routing_topic=None)
            .execution_options(synchronize_session=False)
        )

    async def waiting(self, *, limit: int = 500) -> list[Waiting]:
        """The queue, oldest first."""
        statement = (
            select(
                Conversation.id,
                Conversation.channel_id,
                Channel.property_id,
                Conversation.team_id,
                Conversation.routing_topic,
                Guest.language,
                Conversation.routing_requested_at,
            )
            .join(
                Channel,
                and_(
                    Channel.tenant_id == Conversation.tenant_id,
                    Channel.id == Conversation.channel_id,
                ),
            )
            .join(
                Guest,
                and_(Guest.tenant_id == Conversation.tenant_id, Guest.id == Conversation.guest_id),
            )
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.assignee_id.is_(None),
                Conversation.routing_requested_at.is_not(None),
                Conversation.assignment_manual.is_(False),
                Conversation.status.in_(OPEN_STATUSES),
            )
            .order_by(Conversation.routing_requested_at, Conversation.id)
            .limit(limit)
        )
        rows = await self.session.execute(statement)
        return [
            Waiting(
                conversation_id=row[0],
                channel_id=row[1],
                property_id=row[2],
                team_id=row[3],
                topic=row[4],
                language=row[5],
                waiting_since=cast(datetime, row[6]),
            )
            for row in rows
        ]

    async def candidates(self, *, online_only: bool = True) -> list[AgentRow]:
        """Live, active users who may reply to guests, with their status, skills, teams and
        open conversations."""
        may_reply = (
            select(UserRole.user_id)
            .join(RolePermission, RolePermission.role_id == UserRole.role_id)
            .join(Permission, Permission.id == RolePermission.permission_id)
            .where(UserRole.tenant_id == self.tenant_id, Permission.code == REPLY)
        )
        skills = (
            select(
                func.coalesce(
                    func.array_agg(aggregate_order_by(AgentSkill.skill, AgentSkill.skill)),
                    array([], type_=AgentSkill.skill.type),
                )
            )
            .where(AgentSkill.tenant_id == self.tenant_id, AgentSkill.user_id == User.id)
            .scalar_subquery()
        )
        teams = (
            select(func.array_agg(TeamMembership.team_id))
            .where(TeamMembership.tenant_id == self.tenant_id, TeamMembership.user_id == User.id)
            .scalar_subquery()
        )
        open_count = (
            select(func.count())
            .select_from(Conversation)
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.assignee_id == User.id,
                Conversation.status.in_(OPEN_STATUSES),
            )
            .scalar_subquery()
        )
        statement = (
            select(
                User.id,
                User.email,
                User.full_name,
                func.coalesce(AgentStatus.availability, "offline"),
                func.coalesce(AgentStatus.capacity, DEFAULT_CAPACITY),
                open_count,
                skills,
                teams,
                AgentStatus.last_assigned_at,
                AgentStatus.availability_changed_at,
            )
            .outerjoin(
                AgentStatus,
                and_(AgentStatus.tenant_id == User.tenant_id, AgentStatus.user_id == User.id),
            )
            .where(
                User.tenant_id == self.tenant_id,
                User.deleted_at.is_(None),
                User.active.is_(True),
                User.id.in_(may_reply),
            )
            .order_by(User.email)
        )
        if online_only:
            statement = statement.where(AgentStatus.availability == "online")
        rows = await self.session.execute(statement)
        return [
            AgentRow(
                candidate=Candidate(
                    user_id=user_id,
                    availability=cast(Availability, availability),
                    capacity=capacity,
                    open_conversations=open_conversations,
                    skills=frozenset(skill_names or ()),
                    team_ids=frozenset(team_ids or ()),
                    last_assigned_at=last_assigned_at,
                ),
                email=email,
                full_name=full_name,
                availability_changed_at=changed_at,
            )
            for (
                user_id,
                email,
                full_name,
                availability,
                capacity,
                open_conversations,
                skill_names,
                team_ids,
                last_assigned_at,
                changed_at,
            ) in rows
        ]

    async def rules(self) -> list[Rule]:
        """The active rules."""
        statement = select(RoutingRule).where(
            RoutingRule.tenant_id == self.tenant_id, RoutingRule.active.is_(True)
        )
        return [
            Rule(
                id=row.id,
                name=row.name,
                position=row.position,
                team_id=row.team_id,
                channel_id=row.channel_id,
                property_id=row.property_id,
                topic=row.topic,
            )
            for row in (await self.session.execute(statement)).scalars()
        ]

    async def humans_first(self, *, channel_id: UUID) -> bool:
        """Whether an active rule sends every new conversation on the channel to a human."""
        statement = select(RoutingRule.id).where(
            RoutingRule.tenant_id == self.tenant_id,
            RoutingRule.channel_id == channel_id,
            RoutingRule.humans_first.is_(True),
            RoutingRule.active.is_(True),
        )
        return (await self.session.execute(statement.limit(1))).first() is not None

    async def assign(
        self, *, waiting: Waiting, user_id: UUID, team_id: UUID | None, at: datetime
    ) -> bool:
        """The router gives the waiting conversation to ``user_id`` (and ``team_id`` when a
        rule chose one): the conversation leaves the queue and its trail records the system.

        False, changing nothing, when it no longer waits: a person assigned it meanwhile (the
        statement waits for their transaction, then finds the row changed)."""
        team = team_id or waiting.team_id
        taken = await self.session.execute(
            update(Conversation)
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.id == waiting.conversation_id,
                Conversation.assignee_id.is_(None),
                Conversation.assignment_manual.is_(False),
                Conversation.routing_requested_at.is_not(None),
                Conversation.status.in_(OPEN_STATUSES),
            )
            .values(
                assignee_id=user_id,
                team_id=team,
                assigned_at=at,
                routing_requested_at=None,
                routing_topic=None,
                updated_at=func.now(),
            )
            .returning(Conversation.id)
            .execution_options(synchronize_session=False)
        )
        if taken.first() is None:
            return False
        trail: list[tuple[str, str | None, str | None]] = [("assignee", None, str(user_id))]
        if team != waiting.team_id:
            trail.append(
                (
                    "team",
                    str(waiting.team_id) if waiting.team_id else None,
                    str(team) if team else None,
                )
            )
        for kind, before, after in trail:
            self._stage(
                ConversationEvent(
                    tenant_id=self.tenant_id,
                    conversation_id=waiting.conversation_id,
                    kind=kind,
                    from_value=before,
                    to_value=after,
                    actor_type="system",
                    actor_user_id=None,
                )
            )
        await self.session.execute(
            update(AgentStatus)
            .where(AgentStatus.tenant_id == self.tenant_id, AgentStatus.user_id == user_id)
            .values(last_assigned_at=at, updated_at=func.now())
        )
        await self.session.flush()
        return True

    async def status(self, *, user_id: UUID) -> AgentStatus | None:
        statement = select(AgentStatus).where(
            AgentStatus.tenant_id == self.tenant_id, AgentStatus.user_id == user_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def set_status(
        self,
        *,
        user_id: UUID,
        at: datetime,
        availability: Availability | None = None,
        capacity: int | None = None,
    ) -> AgentStatus:
        """Create or change the agent's status; what is None stays as it is."""
        values: dict[str, object] = {}
        if availability is not None:
            values["availability"] = availability
        if capacity is not None:
            values["capacity"] = capacity
        inserted = insert(AgentStatus).values(
            tenant_id=self.tenant_id, user_id=user_id, availability_changed_at=at, **values
        )
        changes: dict[str, object] = {**values, "updated_at": func.now()}
        if availability is not None:
            # Only a real change of availability moves the time it changed.
            changes["availability_changed_at"] = case(
                (AgentStatus.availability == availability, AgentStatus.availability_changed_at),
                else_=at,
            )
        await self.session.execute(
            inserted.on_conflict_do_update(
                index_elements=[AgentStatus.tenant_id, AgentStatus.user_id], set_=changes
            )
        )
        row = await self.status(user_id=user_id)
        assert row is not None
        await self.session.refresh(row)
        return row
