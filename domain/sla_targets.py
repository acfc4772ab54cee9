"""A conversation's SLA targets as pure data: each running (its deadline and warning time),
paused (what was left of it) or idle (met, or not started), moved as the conversation is opened,
waits on the guest, is answered, and is resolved; and which warnings and breaches are due."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from domain.service_levels import KINDS, Clock, Kind, Terms

Stage = Literal["warning", "breach"]
# The statuses whose clock runs; the others (waiting on the guest, resolved, closed) pause it.
RUNNING_STATUSES = frozenset({"new", "open"})


@dataclass(frozen=True, slots=True)
class Target:
    """One target of a conversation: running (``due_at``), paused (``left``) or idle (met, or
    not started)."""

    due_at: datetime | None = None
    warn_at: datetime | None = None
    left: timedelta | None = None

    @property
    def idle(self) -> bool:
        return self.due_at is None and self.left is None


IDLE = Target()


@dataclass(frozen=True, slots=True)
class SlaState:
    terms: Terms
    first_response: Target = IDLE
    next_response: Target = IDLE
    resolution: Target = IDLE

    def target(self, kind: Kind) -> Target:
        found: Target = getattr(self, kind)
        return found

    def with_target(self, kind: Kind, target: Target) -> SlaState:
        if kind == "first_response":
            return replace(self, first_response=target)
        if kind == "next_response":
            return replace(self, next_response=target)
        return replace(self, resolution=target)


def _run(terms: Terms, kind: Kind, now: datetime, left: timedelta, clock: Clock) -> Target:
    """The target running from ``now`` with ``left`` of it to go."""
    total = terms.target(kind) or timedelta()
    warn_at = None
    if terms.warning_percent is not None:
        after_warning = total * (100 - terms.warning_percent) / 100
        warn_at = clock.add(now, max(left - after_warning, timedelta()))
    return Target(due_at=clock.add(now, left), warn_at=warn_at)


def start(terms: Terms, at: datetime, clock: Clock) -> SlaState:
    """A policy applies at ``at`` (a guest wrote): first response and resolution run."""
    state = SlaState(terms=terms)
    state = state.with_target(
        "first_response", _run(terms, "first_response", at, terms.first_response, clock)
    )
    if terms.resolution is not None:
        state = state.with_target(
            "resolution", _run(terms, "resolution", at, terms.resolution, clock)
        )
    return state


def pause(state: SlaState, now: datetime, clock: Clock) -> SlaState:
    """The conversation waits on the guest, or is resolved: running targets keep what is left."""
    for kind in KINDS:
        target = state.target(kind)
        if target.due_at is not None:
            state = state.with_target(kind, Target(left=clock.between(now, target.due_at)))
    return state


def resume(state: SlaState, now: datetime, clock: Clock) -> SlaState:
    """The conversation is open again: paused targets run on from ``now`` with what was left."""
    for kind in KINDS:
        target = state.target(kind)
        if target.left is not None:
            state = state.with_target(kind, _run(state.terms, kind, now, target.left, clock))
    return state


def follow_status(state: SlaState, status: str, now: datetime, clock: Clock) -> SlaState:
    """Pause or resume the targets as the conversation's status says."""
    if status in RUNNING_STATUSES:
        return resume(state, now, clock)
    return pause(state, now, clock)


def guest_wrote(state: SlaState, status: str, at: datetime, clock: Clock) -> SlaState:
    """A guest message: the clock follows the (reopened) status, and once the first response
    is met a next-response target starts unless one runs already."""
    state = follow_status(state, status, at, clock)
    terms = state.terms
    if (
        terms.next_response is not None
        and status in RUNNING_STATUSES
        and state.first_response.idle
        and state.next_response.idle
    ):
        state = state.with_target(
            "next_response", _run(terms, "next_response", at, terms.next_response, clock)
        )
    return state


def counts_as_response(terms: Terms, *, by_bot: bool) -> bool:
    """A staff reply satisfies the response targets; a bot's only if the policy says so."""
    return not by_bot or terms.bot_reply_counts


def responded(state: SlaState, *, by_bot: bool) -> SlaState:
    """An answer the policy counts meets the running response targets."""
    if not counts_as_response(state.terms, by_bot=by_bot):
        return state
    return replace(state, first_response=IDLE, next_response=IDLE)


def due_stages(
    state: SlaState, now: datetime, recorded: frozenset[tuple[Kind, Stage]]
) -> list[tuple[Kind, Stage, datetime]]:
    """The warnings and breaches due by ``now`` not recorded yet: (kind, stage, due_at)."""
    due: list[tuple[Kind, Stage, datetime]] = []
    for kind in KINDS:
        target = state.target(kind)
        if target.due_at is None:
            continue
        if (
            target.warn_at is not None
            and target.warn_at <= now
            and (kind, "warning") not in recorded
        ):
            due.append((kind, "warning", target.due_at))
        if target.due_at <= now and (kind, "breach") not in recorded:
            due.append((kind, "breach", target.due_at))
    return due


def next_check(state: SlaState, recorded: frozenset[tuple[Kind, Stage]]) -> datetime | None:
    """When a warning or breach not recorded yet falls due next (None: nothing to watch)."""
    instants = []
    for kind in KINDS:
        target = state.target(kind)
        if target.due_at is None:
            continue
        if target.warn_at is not None and (kind, "warning") not in recorded:
            instants.append(target.warn_at)
        if (kind, "breach") not in recorded:
            instants.append(target.due_at)
    return min(instants, default=None)
