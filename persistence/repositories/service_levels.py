"""Service levels on conversations: the policy applied when a guest writes, its clock paused
and resumed with the status, response targets met by replies, and warnings and breaches
recorded once (``sla_warnings`` / ``sla_violations``, one per conversation, policy and kind).

The state lives on the conversation row (``domain.sla_targets.SlaState`` read from and
written to its ``sla_*`` and ``*_due_at`` columns); every change here is made under the row's
lock, which the caller's statement (intake's, the inbox command's) already holds or takes.
Intake asks for every guest message, so the row is read (``SlaConversation``) and written in
compiled Core statements; a conversation row the inbox holds is refreshed with what changed.
A reply meeting the response targets is one statement (``response_met_values``, what
``domain.sla_targets.responded`` does to the state), so the dispatcher records a bot's reply
in the statement that records the send.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    Boolean,
    ColumnElement,
    FromClause,
    case,
    exists,
    func,
    inspect,
    literal,
    not_,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert

from domain.service_levels import (
    KINDS,
    BusinessCalendar,
    Clock,
    Facts,
    Kind,
    Policy,
    Shift,
    Terms,
    applicable,
    clock_for,
)
from domain.sla_targets import (
    SlaState,
    Stage,
    Target,
    follow_status,
    guest_wrote,
    next_check,
    start,
)
from domain.sla_targets import responded as answered
from persistence.models import (
    BusinessHours,
    Channel,
    Conversation,
    Holiday,
    Message,
    Property,
    SlaPolicy,
    SlaViolation,
    SlaWarning,
)
from persistence.models.conversations import Direction, MessageStatus, SenderType
from persistence.repositories.base import Repository
from persistence.statements import Compiled, Row, param, table_of

# The response targets' columns; a reply the policy counts clears them.
_RESPONSE_COLUMNS = tuple(
    f"{prefix}{kind}{suffix}"
    for kind in ("first_response", "next_response")
    for prefix, suffix in (("", "_due_at"), ("sla_", "_warn_at"), ("sla_", "_left"))
)


def response_met_values(
    condition: ColumnElement[bool], conversations: FromClause
) -> dict[str, ColumnElement[Any]]:
    """The ``SET`` values meeting the response targets of ``conversations`` where ``condition``
    holds (the sweeper then looks next at the resolution target only): for a statement that
    records a reply in the same row update, such as the dispatcher's recording a send."""
    columns = conversations.c
    values: dict[str, ColumnElement[Any]] = {
        name: case((condition, null()), else_=columns[name]) for name in _RESPONSE_COLUMNS
    }
    resolution = func.least(columns.sla_resolution_warn_at, columns.resolution_due_at)
    values["sla_next_check_at"] = case((condition, resolution), else_=columns.sla_next_check_at)
    return values


conversations = table_of(Conversation)

# A reply: it meets the response targets, a bot's only where the conversation's policy counts it.
_RESPONDED = Compiled.of(
    update(conversations)
    .where(
        conversations.c.tenant_id == param("tenant_id"),
        conversations.c.id == param("conversation_id"),
        conversations.c.sla_policy_id.is_not(None),
    )
    .values(
        {
            **response_met_values(
                or_(not_(param("by_bot", Boolean)), conversations.c.sla_bot_reply_counts),
                conversations,
            ),
            "updated_at": func.now(),
        }
    )
)
# What ``_RESPONDED`` changes, for a conversation row the caller holds.
_RESPONSE_ATTRIBUTES = [*_RESPONSE_COLUMNS, "sla_next_check_at", "updated_at"]


@dataclass(frozen=True, slots=True)
class SlaConversation:
    """What service levels read of a conversation: the facts a policy matches on, the terms
    copied onto it, and its targets (``{kind}_due_at``, ``sla_{kind}_warn_at``,
    ``sla_{kind}_left``)."""

    id: UUID
    status: str
    priority: str
    channel_id: UUID
    team_id: UUID | None
    first_message_at: datetime | None
    sla_policy_id: UUID | None
    sla_first_response_minutes: int | None
    sla_next_response_minutes: int | None
    sla_resolution_minutes: int | None
    sla_clock: str | None
    sla_warning_percent: int | None
    sla_bot_reply_counts: bool
    first_response_due_at: datetime | None
    next_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_first_response_warn_at: datetime | None
    sla_next_response_warn_at: datetime | None
    sla_resolution_warn_at: datetime | None
    sla_first_response_left: timedelta | None
    sla_next_response_left: timedelta | None
    sla_resolution_left: timedelta | None


_SLA_FIELDS = [field.name for field in fields(SlaConversation)]
_TARGET_COLUMNS = [
    f"{prefix}{kind}{suffix}"
    for kind in KINDS
    for prefix, suffix in (("", "_due_at"), ("sla_", "_warn_at"), ("sla_", "_left"))
]
_TERM_COLUMNS = [
    "sla_policy_id",
    "sla_first_response_minutes",
    "sla_next_response_minutes",
    "sla_resolution_minutes",
    "sla_clock",
    "sla_warning_percent",
    "sla_bot_reply_counts",
]
# What the statements below change, for a conversation row the caller holds (the inbox's).
_SLA_ATTRIBUTES = [*_TERM_COLUMNS, *_TARGET_COLUMNS, "sla_next_check_at", "updated_at"]

policies = table_of(SlaPolicy)
channels = table_of(Channel)
warnings = table_of(SlaWarning)
violations = table_of(SlaViolation)

# Intake makes these for every guest message (most tenants: the first two, no policy).
_this_conversation = (
    conversations.c.tenant_id == param("tenant_id"),
    conversations.c.id == param("conversation_id"),
)
_LOCKED = Compiled.of(
    select(*(conversations.c[name] for name in _SLA_FIELDS))
    .where(*_this_conversation)
    .with_for_update()
)
_POLICY_COLUMNS = (
    "id",
    "first_response_minutes",
    "next_response_minutes",
    "resolution_minutes",
    "clock",
    "warning_percent",
    "bot_reply_counts",
    "position",
    "priorities",
    "channel_ids",
    "team_ids",
    "property_ids",
)
_POLICIES = Compiled.of(
    select(*(policies.c[name] for name in _POLICY_COLUMNS))
    .where(policies.c.tenant_id == param("tenant_id"), policies.c.active.is_(True))
    .order_by(policies.c.position, policies.c.created_at, policies.c.id)
)
_PROPERTY_OF_CHANNEL = Compiled.of(
    select(channels.c.property_id).where(
        channels.c.tenant_id == param("tenant_id"), channels.c.id == param("channel_id")
    )
)
_RECORDED = Compiled.of(
    union_all(
        *(
            select(stages.c.kind, literal(stage)).where(
                stages.c.tenant_id == param("tenant_id"),
                stages.c.conversation_id == param("conversation_id"),
                stages.c.policy_id == param("policy_id"),
            )
            for stages, stage in ((warnings, "warning"), (violations, "breach"))
        )
    )
)
# The targets and when the sweeper looks next; with the terms when a policy starts to apply.
_STORE = Compiled.of(
    update(conversations)
    .where(*_this_conversation)
    .values({name: param(name) for name in [*_TARGET_COLUMNS, "sla_next_check_at"]})
)
_START = Compiled.of(
    update(conversations)
    .where(*_this_conversation)
    .values({name: param(name) for name in [*_TERM_COLUMNS, *_TARGET_COLUMNS, "sla_next_check_at"]})
)


def terms_of(conversation: Conversation | SlaConversation) -> Terms | None:
    """The terms copied onto the conversation (None: no policy applies)."""
    if conversation.sla_policy_id is None or conversation.sla_first_response_minutes is None:
        return None
    return Terms(
        policy_id=conversation.sla_policy_id,
        first_response=timedelta(minutes=conversation.sla_first_response_minutes),
        next_response=_minutes(conversation.sla_next_response_minutes),
        resolution=_minutes(conversation.sla_resolution_minutes),
        business_hours=conversation.sla_clock == "business_hours",
        warning_percent=conversation.sla_warning_percent,
        bot_reply_counts=conversation.sla_bot_reply_counts,
    )


def state_of(conversation: Conversation | SlaConversation) -> SlaState | None:
    terms = terms_of(conversation)
    if terms is None:
        return None
    state = SlaState(terms=terms)
    for kind in KINDS:
        target = Target(
            due_at=getattr(conversation, f"{kind}_due_at"),
            warn_at=getattr(conversation, f"sla_{kind}_warn_at"),
            left=getattr(conversation, f"sla_{kind}_left"),
        )
        state = state.with_target(kind, target)
    return state


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _whole_minutes(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds() // 60)


def _policy_of(row: Row) -> Policy:
    """A policy from a ``_POLICIES`` row."""
    (
        policy_id,
        first_response,
        next_response,
        resolution,
        clock,
        warning_percent,
        bot_reply_counts,
        position,
        priorities,
        channel_ids,
        team_ids,
        property_ids,
    ) = row
    terms = Terms(
        policy_id=policy_id,
        first_response=timedelta(minutes=first_response),
        next_response=_minutes(next_response),
        resolution=_minutes(resolution),
        business_hours=clock == "business_hours",
        warning_percent=warning_percent,
        bot_reply_counts=bot_reply_counts,
    )
    return Policy(
        terms=terms,
        position=position,
        priorities=frozenset(priorities),
        channel_ids=frozenset(channel_ids),
        team_ids=frozenset(team_ids),
        property_ids=frozenset(property_ids),
    )


@dataclass(frozen=True, slots=True)
class Deadline:
    """A running target of a conversation: when it is due, and whether it was breached."""

    conversation_id: UUID
    status: str
    priority: str
    assignee_id: UUID | None
    team_id: UUID | None
    kind: Kind
    due_at: datetime
    breached: bool


class ServiceLevelRepository(Repository):
    async def policies(self) -> list[Policy]:
        """The active policies, first to be tried first."""
        rows = await self.sql.rows(_POLICIES, tenant_id=self.tenant_id)
        return [_policy_of(row) for row in rows]

    async def in_use(self, *, policy_id: UUID) -> bool:
        """Whether the policy applied to a conversation (its history refers to it)."""
        used = select(Conversation.id).where(
            Conversation.tenant_id == self.tenant_id, Conversation.sla_policy_id == policy_id
        )
        return bool(await self.session.scalar(select(used.exists())))

    async def calendar(
        self, *, property_id: UUID | None, team_id: UUID | None
    ) -> BusinessCalendar | None:
        """The team's shifts where it has any, else the property's, in the property's time
        zone, with the property's and the tenant-wide holidays (None: no property known)."""
        place = await self._get(Property, property_id) if property_id is not None else None
        if place is None:
            return None
        rows: list[BusinessHours] = []
        if team_id is not None:
            rows = await self._hours(BusinessHours.team_id == team_id)
        if not rows:
            rows = await self._hours(BusinessHours.property_id == place.id)
        days = select(Holiday.day).where(
            Holiday.tenant_id == self.tenant_id,
            or_(Holiday.property_id == place.id, Holiday.property_id.is_(None)),
        )
        holidays = frozenset((await self.session.execute(days)).scalars())
        shifts = tuple(
            Shift(row.weekday, row.opens_at, row.closes_at, row.overnight) for row in rows
        )
        return BusinessCalendar(timezone=place.timezone, shifts=shifts, holidays=holidays)

    async def _hours(self, owner: ColumnElement[bool]) -> list[BusinessHours]:
        statement = select(BusinessHours).where(BusinessHours.tenant_id == self.tenant_id, owner)
        return list((await self.session.execute(statement)).scalars())

    async def _locked(self, conversation_id: UUID) -> SlaConversation | None:
        """The conversation as it is now, locked for the transaction."""
        row = await self.sql.row(_LOCKED, tenant_id=self.tenant_id, conversation_id=conversation_id)
        return None if row is None else SlaConversation(*row)

    async def _property_of(self, channel_id: UUID) -> UUID | None:
        found: UUID | None = await self.sql.value(
            _PROPERTY_OF_CHANNEL, tenant_id=self.tenant_id, channel_id=channel_id
        )
        return found

    async def clock(self, conversation: SlaConversation, *, business_hours: bool) -> Clock:
        if not business_hours:
            return clock_for(False, None)
        calendar = await self.calendar(
            property_id=await self._property_of(conversation.channel_id),
            team_id=conversation.team_id,
        )
        return clock_for(True, calendar)

    async def guest_wrote(self, *, conversation_id: UUID, at: datetime) -> None:
        """A guest message: the first one finding a matching policy applies it (its targets
        start at ``at``); after that the clock follows the status and a next-response target
        starts once the first response is met."""
        conversation = await self._locked(conversation_id)
        if conversation is None:
            return
        state = state_of(conversation)
        if state is None:
            await self.apply(conversation, at=at)
            return
        clock = await self.clock(conversation, business_hours=state.terms.business_hours)
        await self._store(conversation.id, guest_wrote(state, conversation.status, at, clock))

    async def apply(
        self,
        conversation: SlaConversation,
        *,
        at: datetime,
        now: datetime | None = None,
        answered_since: bool = False,
    ) -> bool:
        """Copy the first matching policy's terms onto the conversation and start its targets
        at ``at`` (their clock following the status as of ``now``, by default ``at``); with
        ``answered_since``, staff answered since ``at``, and the response targets are met.
        False if none matches (or one applies already)."""
        if conversation.sla_policy_id is not None:
            return False
        policies = await self.policies()
        if not policies:  # most tenants' messages stop here: one small read
            return False
        facts = Facts(
            priority=conversation.priority,
            channel_id=conversation.channel_id,
            team_id=conversation.team_id,
            property_id=await self._property_of(conversation.channel_id),
        )
        policy = applicable(policies, facts)
        if policy is None:
            return False
        terms = policy.terms
        clock = await self.clock(conversation, business_hours=terms.business_hours)
        state = start(terms, at, clock)
        if answered_since:
            state = answered(state, by_bot=False)
        state = follow_status(state, conversation.status, now or at, clock)
        copied: dict[str, object] = {
            "sla_policy_id": terms.policy_id,
            "sla_first_response_minutes": _whole_minutes(terms.first_response),
            "sla_next_response_minutes": _whole_minutes(terms.next_response),
            "sla_resolution_minutes": _whole_minutes(terms.resolution),
            "sla_clock": "business_hours" if terms.business_hours else "calendar",
            "sla_warning_percent": terms.warning_percent,
            "sla_bot_reply_counts": terms.bot_reply_counts,
        }
        await self._store(conversation.id, state, copied)
        return True

    async def reconsider(self, *, conversation_id: UUID, now: datetime) -> bool:
        """The conversation's team or priority changed: if no policy applies yet, the first
        one matching now applies as from the guest's first message (a staff reply since meets
        its response targets). False if none applies."""
        conversation = await self._locked(conversation_id)
        if (
            conversation is None
            or conversation.sla_policy_id is not None
            or conversation.first_message_at is None
        ):
            return False
        staff_replied = exists().where(
            Message.tenant_id == self.tenant_id,
            Message.conversation_id == conversation.id,
            Message.direction == Direction.OUTBOUND,
            Message.sender_type == SenderType.STAFF,
            Message.status != MessageStatus.CANCELLED,
        )
        return await self.apply(
            conversation,
            at=conversation.first_message_at,
            now=now,
            answered_since=bool(await self.session.scalar(select(staff_replied))),
        )

    async def status_changed(self, *, conversation_id: UUID, now: datetime) -> None:
        """Pause the targets while the conversation waits on the guest or is resolved, and
        resume them when it is open again."""
        conversation = await self._locked(conversation_id)
        state = state_of(conversation) if conversation is not None else None
        if conversation is None or state is None:
            return
        clock = await self.clock(conversation, business_hours=state.terms.business_hours)
        await self._store(conversation.id, follow_status(state, conversation.status, now, clock))

    async def responded(self, *, conversation_id: UUID, by_bot: bool) -> None:
        """A reply: it meets the response targets, a bot's only where the policy counts it."""
        await self.sql.run(
            _RESPONDED, tenant_id=self.tenant_id, conversation_id=conversation_id, by_bot=by_bot
        )
        await self._show_held(conversation_id, _RESPONSE_ATTRIBUTES)

    async def _store(
        self, conversation_id: UUID, state: SlaState, terms: dict[str, object] | None = None
    ) -> None:
        """Write the targets of ``state`` and when the sweeper looks next (with ``terms``, the
        policy's terms copied onto the conversation as well)."""
        values: dict[str, object] = {}
        for kind in KINDS:
            target = state.target(kind)
            values[f"{kind}_due_at"] = target.due_at
            values[f"sla_{kind}_warn_at"] = target.warn_at
            values[f"sla_{kind}_left"] = target.left
        recorded = await self.recorded(
            conversation_id=conversation_id, policy_id=state.terms.policy_id
        )
        values["sla_next_check_at"] = next_check(state, recorded)
        statement = _STORE if terms is None else _START
        await self.sql.run(
            statement,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            **values,
            **(terms or {}),
        )
        await self._show_held(conversation_id, _SLA_ATTRIBUTES)

    async def _show_held(self, conversation_id: UUID, attributes: list[str]) -> None:
        """A conversation row the caller holds (the inbox's) shows what a statement changed."""
        key = inspect(Conversation).identity_key_from_primary_key((conversation_id,))
        held = self.session.identity_map.get(key)
        if held is not None:
            await self.session.refresh(held, attribute_names=attributes)

    async def recorded(
        self, *, conversation_id: UUID, policy_id: UUID
    ) -> frozenset[tuple[Kind, Stage]]:
        """The warnings and breaches recorded for the conversation under the policy."""
        rows = await self.sql.rows(
            _RECORDED,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            policy_id=policy_id,
        )
        return frozenset((cast(Kind, row[0]), cast(Stage, row[1])) for row in rows)

    async def claim(self, *, conversation_id: UUID, now: datetime) -> Conversation | None:
        """Lock a conversation whose next SLA check is due; None if not due or another
        sweeper holds it."""
        statement = (
            select(Conversation)
            .where(
                Conversation.tenant_id == self.tenant_id,
                Conversation.id == conversation_id,
                Conversation.sla_next_check_at <= now,
            )
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def record(
        self,
        *,
        conversation_id: UUID,
        policy_id: UUID,
        kind: Kind,
        stage: Stage,
        due_at: datetime,
        at: datetime,
    ) -> bool:
        """Record a warning or a breach; False if it was recorded before."""
        values = {
            "tenant_id": self.tenant_id,
            "conversation_id": conversation_id,
            "policy_id": policy_id,
            "kind": kind,
            "due_at": due_at,
        }
        if stage == "warning":
            statement = insert(SlaWarning).values(**values, warned_at=at)
            returning = SlaWarning.id
        else:
            statement = insert(SlaViolation).values(**values, breached_at=at)
            returning = SlaViolation.id
        inserted = await self.session.execute(
            statement.on_conflict_do_nothing(
                index_elements=["tenant_id", "conversation_id", "policy_id", "kind"]
            ).returning(returning)
        )
        return inserted.scalar_one_or_none() is not None

    async def schedule(self, *, conversation_id: UUID, at: datetime | None) -> None:
        await self.session.execute(
            update(Conversation)
            .where(Conversation.tenant_id == self.tenant_id, Conversation.id == conversation_id)
            .values(sla_next_check_at=at)
        )

    async def deadlines(self, *, before: datetime, limit: int) -> list[Deadline]:
        """The running targets due before ``before`` (those passed included), soonest first."""
        parts = []
        for kind in KINDS:
            due = getattr(Conversation, f"{kind}_due_at")
            breached = exists().where(
                SlaViolation.tenant_id == Conversation.tenant_id,
                SlaViolation.conversation_id == Conversation.id,
                SlaViolation.policy_id == Conversation.sla_policy_id,
                SlaViolation.kind == kind,
            )
            parts.append(
                select(
                    Conversation.id,
                    Conversation.status,
                    Conversation.priority,
                    Conversation.assignee_id,
                    Conversation.team_id,
                    literal(kind).label("kind"),
                    due.label("due_at"),
                    breached.label("breached"),
                ).where(Conversation.tenant_id == self.tenant_id, due < before)
            )
        combined = union_all(*parts).subquery()
        statement = select(combined).order_by(combined.c.due_at).limit(limit)
        return [
            Deadline(
                conversation_id=row[0],
                status=row[1],
                priority=row[2],
                assignee_id=row[3],
                team_id=row[4],
                kind=cast(Kind, row[5]),
                due_at=row[6],
                breached=bool(row[7]),
            )
            for row in await self.session.execute(statement)
        ]
