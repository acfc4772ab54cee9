"""Service levels on conversations: the policy applied when a guest writes, its clock paused
and resumed with the status, response targets met by replies, and warnings and breaches
recorded once (``sla_warnings`` / ``sla_violations``, one per conversation, policy and kind).

The state lives on the conversation row (``domain.sla_targets.SlaState`` read from and
written to its ``sla_*`` and ``*_due_at`` columns); every change here is made under the row's
lock, which the caller's statement (intake's, the inbox command's) already holds or takes.
A reply meeting the response targets is one statement (``response_met``, what
``domain.sla_targets.responded`` does to the state), so the dispatcher records a bot's reply
in the statement that records the send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from sqlalchemy import (
    ColumnElement,
    FromClause,
    case,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    text,
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
from persistence.repositories.base import Repository

# The response targets' columns; a reply the policy counts clears them.
_RESPONSE_COLUMNS = tuple(
    f"{prefix}{kind}{suffix}"
    for kind in ("first_response", "next_response")
    for prefix, suffix in (("", "_due_at"), ("sla_", "_warn_at"), ("sla_", "_left"))
)


def response_met(condition: str, alias: str = "c") -> str:
    """SQL ``SET`` assignments meeting the response targets of conversation ``alias`` where
    ``condition`` holds (the sweeper then looks next at the resolution target only). For the
    dispatcher's statement recording a send, which answers the conversation in the same row."""
    assignments = [
        f"{column} = CASE WHEN {condition} THEN NULL ELSE {alias}.{column} END"
        for column in _RESPONSE_COLUMNS
    ]
    resolution = f"least({alias}.sla_resolution_warn_at, {alias}.resolution_due_at)"
    assignments.append(
        f"sla_next_check_at = CASE WHEN {condition} THEN {resolution}"
        f" ELSE {alias}.sla_next_check_at END"
    )
    return ", ".join(assignments)


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


# A bot's reply, as the dispatcher records it sent, where the conversation's policy counts it.
BOT_RESPONSE_MET = response_met("(sent.sender_type = 'bot' AND c.sla_bot_reply_counts)")
# Built once from constant fragments (no input reaches the text).
_RESPONDED = text(
    " ".join(
        (
            "UPDATE conversations c SET",
            response_met("(NOT :by_bot OR c.sla_bot_reply_counts)"),
            ", updated_at = now() WHERE c.tenant_id = :tenant_id AND c.id = :conversation_id",
            "AND c.sla_policy_id IS NOT NULL",
        )
    )
)


def terms_of(conversation: Conversation) -> Terms | None:
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


def state_of(conversation: Conversation) -> SlaState | None:
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


def policy_of(row: SlaPolicy) -> Policy:
    terms = Terms(
        policy_id=row.id,
        first_response=timedelta(minutes=row.first_response_minutes),
        next_response=_minutes(row.next_response_minutes),
        resolution=_minutes(row.resolution_minutes),
        business_hours=row.clock == "business_hours",
        warning_percent=row.warning_percent,
        bot_reply_counts=row.bot_reply_counts,
    )
    return Policy(
        terms=terms,
        position=row.position,
        priorities=frozenset(row.priorities),
        channel_ids=frozenset(row.channel_ids),
        team_ids=frozenset(row.team_ids),
        property_ids=frozenset(row.property_ids),
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
        statement = (
            select(SlaPolicy)
            .where(SlaPolicy.tenant_id == self.tenant_id, SlaPolicy.active.is_(True))
            .order_by(SlaPolicy.position, SlaPolicy.created_at, SlaPolicy.id)
        )
        return [policy_of(row) for row in (await self.session.execute(statement)).scalars()]

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

    async def locked(self, *, conversation_id: UUID) -> Conversation | None:
        """The conversation as it is now (statements through the driver may have changed it),
        locked for the transaction."""
        await self.session.flush()
        statement = (
            select(Conversation)
            .where(Conversation.tenant_id == self.tenant_id, Conversation.id == conversation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def clock(self, conversation: Conversation, *, business_hours: bool) -> Clock:
        if not business_hours:
            return clock_for(False, None)
        channel = await self._get(Channel, conversation.channel_id)
        calendar = await self.calendar(
            property_id=channel.property_id if channel else None, team_id=conversation.team_id
        )
        return clock_for(True, calendar)

    async def guest_wrote(self, *, conversation_id: UUID, at: datetime) -> None:
        """A guest message: the first one finding a matching policy applies it (its targets
        start at ``at``); after that the clock follows the status and a next-response target
        starts once the first response is met."""
        conversation = await self.locked(conversation_id=conversation_id)
        if conversation is None:
            return
        state = state_of(conversation)
        if state is None:
            await self.apply(conversation, at=at)
            return
        clock = await self.clock(conversation, business_hours=state.terms.business_hours)
        await self._store(conversation, guest_wrote(state, conversation.status, at, clock))

    async def apply(
        self,
        conversation: Conversation,
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
        channel = await self._get(Channel, conversation.channel_id)
        facts = Facts(
            priority=conversation.priority,
            channel_id=conversation.channel_id,
            team_id=conversation.team_id,
            property_id=channel.property_id if channel else None,
        )
        policy = applicable(policies, facts)
        if policy is None:
            return False
        terms = policy.terms
        conversation.sla_policy_id = terms.policy_id
        conversation.sla_first_response_minutes = _whole_minutes(terms.first_response)
        conversation.sla_next_response_minutes = _whole_minutes(terms.next_response)
        conversation.sla_resolution_minutes = _whole_minutes(terms.resolution)
        conversation.sla_clock = "business_hours" if terms.business_hours else "calendar"
        conversation.sla_warning_percent = terms.warning_percent
        conversation.sla_bot_reply_counts = terms.bot_reply_counts
        clock = await self.clock(conversation, business_hours=terms.business_hours)
        state = start(terms, at, clock)
        if answered_since:
            state = answered(state, by_bot=False)
        await self._store(conversation, follow_status(state, conversation.status, now or at, clock))
        return True

    async def reconsider(self, *, conversation_id: UUID, now: datetime) -> bool:
        """The conversation's team or priority changed: if no policy applies yet, the first
        one matching now applies as from the guest's first message (a staff reply since meets
        its response targets). False if none applies."""
        conversation = await self.locked(conversation_id=conversation_id)
        if (
            conversation is None
            or conversation.sla_policy_id is not None
            or conversation.first_message_at is None
        ):
            return False
        staff_replied = exists().where(
            Message.tenant_id == self.tenant_id,
            Message.conversation_id == conversation.id,
            Message.direction == "outbound",
            Message.sender_type == "staff",
            Message.status != "cancelled",
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
        conversation = await self.locked(conversation_id=conversation_id)
        state = state_of(conversation) if conversation is not None else None
        if conversation is None or state is None:
            return
        clock = await self.clock(conversation, business_hours=state.terms.business_hours)
        await self._store(conversation, follow_status(state, conversation.status, now, clock))

    async def responded(self, *, conversation_id: UUID, by_bot: bool) -> None:
        """A reply: it meets the response targets, a bot's only where the policy counts it."""
        await self.session.flush()
        await self.session.execute(
            _RESPONDED,
            {"tenant_id": self.tenant_id, "conversation_id": conversation_id, "by_bot": by_bot},
        )
        # A conversation object the caller holds shows the change.
        await self.session.execute(
            select(Conversation)
            .where(Conversation.tenant_id == self.tenant_id, Conversation.id == conversation_id)
            .execution_options(populate_existing=True)
        )

    async def _store(self, conversation: Conversation, state: SlaState) -> None:
        for kind in KINDS:
            target = state.target(kind)
            setattr(conversation, f"{kind}_due_at", target.due_at)
            setattr(conversation, f"sla_{kind}_warn_at", target.warn_at)
            setattr(conversation, f"sla_{kind}_left", target.left)
        recorded = await self.recorded(
            conversation_id=conversation.id, policy_id=state.terms.policy_id
        )
        conversation.sla_next_check_at = next_check(state, recorded)
        await self.session.flush()

    async def recorded(
        self, *, conversation_id: UUID, policy_id: UUID
    ) -> frozenset[tuple[Kind, Stage]]:
        """The warnings and breaches recorded for the conversation under the policy."""
        found: set[tuple[Kind, Stage]] = set()
        for model, stage in ((SlaWarning, "warning"), (SlaViolation, "breach")):
            statement = select(model.kind).where(
                model.tenant_id == self.tenant_id,
                model.conversation_id == conversation_id,
                model.policy_id == policy_id,
            )
            for kind in (await self.session.execute(statement)).scalars():
                found.add((cast(Kind, kind), cast(Stage, stage)))
        return frozenset(found)

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
