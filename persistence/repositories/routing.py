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

from sqlalchemy import (
    Select,
    and_,
    case,
    func,
    null,
    select,
    update,
)
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
from persistence.statements import Compiled, param, table_of

REPLY = "conversations.reply"
DEFAULT_CAPACITY = 5

conversations = table_of(Conversation)
channels = table_of(Channel)
guests = table_of(Guest)
events = table_of(ConversationEvent)
rules = table_of(RoutingRule)
agent_statuses = table_of(AgentStatus)
agent_skills = table_of(AgentSkill)
memberships = table_of(TeamMembership)
users = table_of(User)
user_roles = table_of(UserRole)
role_permissions = table_of(RolePermission)
permissions = table_of(Permission)

# The router consumer makes these for every conversation event it routes.
_is_open = conversations.c.status.in_(OPEN_STATUSES)
_LOCK = Compiled.of(select(func.pg_advisory_xact_lock(func.hashtextextended(param("key"), 0))))
_this_conversation = (
    conversations.c.tenant_id == param("tenant_id"),
    conversations.c.id == param("conversation_id"),
)
# Still unassigned, no person's choice, not over.
_unassigned = (
    conversations.c.assignee_id.is_(None),
    conversations.c.assignment_manual.is_(False),
    _is_open,
)
_REQUEST = Compiled.of(
    update(conversations)
    .where(*_this_conversation, *_unassigned)
    .values(
        routing_requested_at=func.coalesce(conversations.c.routing_requested_at, param("at")),
        routing_topic=func.coalesce(param("topic"), conversations.c.routing_topic),
        updated_at=func.now(),
    )
    .returning(conversations.c.id)
)
_LEAVE_QUEUE = Compiled.of(
    update(conversations)
    .where(*_this_conversation, conversations.c.routing_requested_at.is_not(None))
    .values(routing_requested_at=null(), routing_topic=null())
)
_WAITING = Compiled.of(
    select(
        conversations.c.id,
        conversations.c.channel_id,
        channels.c.property_id,
        conversations.c.team_id,
        conversations.c.routing_topic,
        guests.c.language,
        conversations.c.routing_requested_at,
    )
    .join(
        channels,
        and_(
            channels.c.tenant_id == conversations.c.tenant_id,
            channels.c.id == conversations.c.channel_id,
        ),
    )
    .join(
        guests,
        and_(
            guests.c.tenant_id == conversations.c.tenant_id,
            guests.c.id == conversations.c.guest_id,
        ),
    )
    .where(
        conversations.c.tenant_id == param("tenant_id"),
        conversations.c.routing_requested_at.is_not(None),
        *_unassigned,
    )
    .order_by(conversations.c.routing_requested_at, conversations.c.id)
    .limit(param("limit"))
)


def _candidates() -> Select[tuple[object, ...]]:
    """Live, active users who may reply to guests, with their status, skills, teams and open
    conversations."""
    tenant = param("tenant_id")
    may_reply = (
        select(user_roles.c.user_id)
        .join(role_permissions, role_permissions.c.role_id == user_roles.c.role_id)
        .join(permissions, permissions.c.id == role_permissions.c.permission_id)
        .where(user_roles.c.tenant_id == tenant, permissions.c.code == REPLY)
    )
    skills = (
        select(
            func.coalesce(
                func.array_agg(aggregate_order_by(agent_skills.c.skill, agent_skills.c.skill)),
                array([], type_=agent_skills.c.skill.type),
            )
        )
        .where(agent_skills.c.tenant_id == tenant, agent_skills.c.user_id == users.c.id)
        .scalar_subquery()
    )
    teams = (
        select(func.array_agg(memberships.c.team_id))
        .where(memberships.c.tenant_id == tenant, memberships.c.user_id == users.c.id)
        .scalar_subquery()
    )
    open_count = (
        select(func.count())
        .select_from(conversations)
        .where(
            conversations.c.tenant_id == tenant,
            conversations.c.assignee_id == users.c.id,
            _is_open,
        )
        .scalar_subquery()
    )
    return (
        select(
            users.c.id,
            users.c.email,
            users.c.full_name,
            func.coalesce(agent_statuses.c.availability, "offline"),
            func.coalesce(agent_statuses.c.capacity, DEFAULT_CAPACITY),
            open_count,
            skills,
            teams,
            agent_statuses.c.last_assigned_at,
            agent_statuses.c.availability_changed_at,
        )
        .outerjoin(
            agent_statuses,
            and_(
                agent_statuses.c.tenant_id == users.c.tenant_id,
                agent_statuses.c.user_id == users.c.id,
            ),
        )
        .where(
            users.c.tenant_id == tenant,
            users.c.deleted_at.is_(None),
            users.c.active.is_(True),
            users.c.id.in_(may_reply),
        )
        .order_by(users.c.email)
    )


_ALL_CANDIDATES = Compiled.of(_candidates())
_ONLINE_CANDIDATES = Compiled.of(_candidates().where(agent_statuses.c.availability == "online"))
_RULES = Compiled.of(
    select(
        rules.c.id,
        rules.c.name,
        rules.c.position,
        rules.c.team_id,
        rules.c.channel_id,
        rules.c.property_id,
        rules.c.topic,
    ).where(rules.c.tenant_id == param("tenant_id"), rules.c.active.is_(True))
)
_HUMANS_FIRST = Compiled.of(
    select(rules.c.id)
    .where(
        rules.c.tenant_id == param("tenant_id"),
        rules.c.channel_id == param("channel_id"),
        rules.c.humans_first.is_(True),
        rules.c.active.is_(True),
    )
    .limit(1)
)
_ASSIGN = Compiled.of(
    update(conversations)
    .where(
        *_this_conversation,
        *_unassigned,
        conversations.c.routing_requested_at.is_not(None),
    )
    .values(
        assignee_id=param("user_id"),
        team_id=param("team_id"),
        assigned_at=param("at"),
        routing_requested_at=null(),
        routing_topic=null(),
        updated_at=func.now(),
    )
    .returning(conversations.c.id)
)
# One row of the conversation's trail, by the system.
_RECORD = Compiled.of(
    insert(events).values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        conversation_id=param("conversation_id"),
        kind=param("kind"),
        from_value=param("from_value"),
        to_value=param("to_value"),
        actor_type="system",
        actor_user_id=null(),
    )
)
_ASSIGNED_AT = Compiled.of(
    update(agent_statuses)
    .where(
        agent_statuses.c.tenant_id == param("tenant_id"),
        agent_statuses.c.user_id == param("user_id"),
    )
    .values(last_assigned_at=param("at"), updated_at=func.now())
)


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
        await self.sql.run(_LOCK, key=f"routing:{self.tenant_id}")

    async def request(self, *, conversation_id: UUID, topic: str | None, at: datetime) -> bool:
        """Queue the conversation for an agent (it keeps its place if queued already); False
        when it has an assignee, a person chose its assignment, or it is over."""
        queued = await self.sql.value(
            _REQUEST, tenant_id=self.tenant_id, conversation_id=conversation_id, topic=topic, at=at
        )
        return queued is not None

    async def leave_queue(self, *, conversation_id: UUID) -> None:
        """The conversation no longer waits (resolved or closed while in the queue)."""
        await self.sql.run(_LEAVE_QUEUE, tenant_id=self.tenant_id, conversation_id=conversation_id)

    async def waiting(self, *, limit: int = 500) -> list[Waiting]:
        """The queue, oldest first."""
        rows = await self.sql.rows(_WAITING, tenant_id=self.tenant_id, limit=limit)
        return [Waiting(*row) for row in rows]

    async def candidates(self, *, online_only: bool = True) -> list[AgentRow]:
        """Live, active users who may reply to guests, with their status, skills, teams and
        open conversations."""
        statement = _ONLINE_CANDIDATES if online_only else _ALL_CANDIDATES
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
            ) in await self.sql.rows(statement, tenant_id=self.tenant_id)
        ]

    async def rules(self) -> list[Rule]:
        """The active rules."""
        rows = await self.sql.rows(_RULES, tenant_id=self.tenant_id)
        return [
            Rule(
                id=row[0],
                name=row[1],
                position=row[2],
                team_id=row[3],
                channel_id=row[4],
                property_id=row[5],
                topic=row[6],
            )
            for row in rows
        ]

    async def humans_first(self, *, channel_id: UUID) -> bool:
        """Whether an active rule sends every new conversation on the channel to a human."""
        found = await self.sql.value(_HUMANS_FIRST, tenant_id=self.tenant_id, channel_id=channel_id)
        return found is not None

    async def assign(
        self, *, waiting: Waiting, user_id: UUID, team_id: UUID | None, at: datetime
    ) -> bool:
        """The router gives the waiting conversation to ``user_id`` (and ``team_id`` when a
        rule chose one): the conversation leaves the queue and its trail records the system.

        False, changing nothing, when it no longer waits: a person assigned it meanwhile (the
        statement waits for their transaction, then finds the row changed)."""
        team = team_id or waiting.team_id
        taken = await self.sql.value(
            _ASSIGN,
            tenant_id=self.tenant_id,
            conversation_id=waiting.conversation_id,
            user_id=user_id,
            team_id=team,
            at=at,
        )
        if taken is None:
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
            await self.sql.run(
                _RECORD,
                tenant_id=self.tenant_id,
                conversation_id=waiting.conversation_id,
                kind=kind,
                from_value=before,
                to_value=after,
            )
        await self.sql.run(_ASSIGNED_AT, tenant_id=self.tenant_id, user_id=user_id, at=at)
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
