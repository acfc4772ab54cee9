"""The staff inbox's rules: who sees which conversation, which status may follow which, and
what a staff reply must respect (the provider's length limit, WhatsApp's 24-hour window).

Visibility by role (the widest of a user's roles wins):

- admin, supervisor (and API keys holding ``conversations.read``): every conversation;
- team_lead: the conversations of their teams, and those assigned to them;
- agent: the conversations assigned to them, and the unassigned ones of their teams.

A conversation outside the caller's scope does not exist for them (404), like another tenant's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

from domain.scheduling import WHATSAPP_PROVIDERS, whatsapp_window_open

Status = Literal["new", "open", "pending", "snoozed", "resolved", "closed"]
Priority = Literal["low", "normal", "high", "urgent"]
STATUSES: tuple[str, ...] = get_args(Status)
PRIORITIES: tuple[str, ...] = get_args(Priority)
# "closed" is final: the guest's next message opens a new conversation.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "pending", "snoozed", "resolved", "closed"}),
    "open": frozenset({"pending", "snoozed", "resolved", "closed"}),
    "pending": frozenset({"open", "snoozed", "resolved", "closed"}),
    "snoozed": frozenset({"open", "pending", "snoozed", "resolved", "closed"}),
    "resolved": frozenset({"open", "closed"}),
    "closed": frozenset(),
}
EVERYONE_ROLES = frozenset({"admin", "supervisor"})
TEAM_ROLES = frozenset({"team_lead"})
# The longest text each provider takes in one message (characters).
TEXT_LIMITS: dict[str, int] = {
    "green_api": 20_000,
    "whatsapp_cloud": 4_096,
    "telegram": 4_096,
    "twilio_sms": 1_600,
    "email": 100_000,
}


@dataclass(frozen=True, slots=True)
class Scope:
    """The conversations a caller may see: all of them, or by assignee and team."""

    everything: bool
    user_id: UUID | None = None
    team_ids: frozenset[UUID] = frozenset()
    whole_teams: bool = False  # a team lead sees their teams' assigned conversations too


def scope_for(*, roles: Iterable[str], user_id: UUID | None, team_ids: Iterable[UUID]) -> Scope:
    """The scope of a staff user (``user_id``) with ``roles``; an API key (no user) sees all."""
    held = set(roles)
    if user_id is None or held & EVERYONE_ROLES:
        return Scope(everything=True)
    return Scope(
        everything=False,
        user_id=user_id,
        team_ids=frozenset(team_ids),
        whole_teams=bool(held & TEAM_ROLES),
    )


def can_see(scope: Scope, *, assignee_id: UUID | None, team_id: UUID | None) -> bool:
    if scope.everything or (assignee_id is not None and assignee_id == scope.user_id):
        return True
    in_team = team_id is not None and team_id in scope.team_ids
    return in_team and (scope.whole_teams or assignee_id is None)


class TransitionRefused(ValueError):
    """A status change the lifecycle does not allow; ``current`` is the status now."""

    def __init__(self, current: str, requested: str, reason: str | None = None) -> None:
        super().__init__(reason or f"a {current} conversation cannot become {requested}")
        self.current = current
        self.requested = requested


class SnoozeRefused(ValueError):
    """Snoozing needs a time in the future (``snoozed_until``)."""


def check_transition(
    current: str, requested: str, *, snoozed_until: datetime | None, now: datetime
) -> bool:
    """Whether moving ``current`` to ``requested`` changes anything; raises when the lifecycle
    forbids it. Asking for the status a conversation has is no change (and no error)."""
    if requested not in STATUSES:
        raise ValueError(f"unknown status {requested!r}")
    if requested == "snoozed":
        if snoozed_until is None or snoozed_until <= now:
            raise SnoozeRefused("snoozing needs snoozed_until, a time in the future")
    elif snoozed_until is not None:
        raise SnoozeRefused("snoozed_until goes with the status snoozed only")
    if requested == current and requested != "snoozed":
        return False
    if requested not in TRANSITIONS[current]:
        raise TransitionRefused(current, requested)
    return True


class ReplyRefused(ValueError):
    """A staff reply that cannot go: ``field`` names what to change, ``rule`` the rule broken
    (``text_length``, ``whatsapp_24h_window``, ``conversation_closed``)."""

    def __init__(self, message: str, *, field: str, rule: str, status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.rule = rule
        self.status = status


def text_limit(provider: str) -> int:
    return TEXT_LIMITS.get(provider, min(TEXT_LIMITS.values()))


def check_reply(
    *,
    provider: str,
    text: str,
    conversation_status: str,
    last_inbound_at: datetime | None,
    now: datetime,
) -> str | None:
    """Refuse a staff reply the guest could not get; returns the status the conversation moves
    to (a new or resolved conversation staff answer is open), or None.

    A closed conversation is over: replies there are refused (409) rather than reopening it,
    because the guest's next message opens a new one and two open ones cannot coexist.
    """
    if conversation_status == "closed":
        raise ReplyRefused(
            "the conversation is closed: the guest's next message opens a new one",
            field="conversation",
            rule="conversation_closed",
            status=409,
        )
    limit = text_limit(provider)
    if len(text) > limit:
        raise ReplyRefused(
            f"text is {len(text)} characters; {provider} takes at most {limit}",
            field="text",
            rule="text_length",
        )
    if provider in WHATSAPP_PROVIDERS and not whatsapp_window_open(last_inbound_at, now):
        raise ReplyRefused(
            "WhatsApp allows free-form replies only within 24 hours of the guest's last"
            " message (the customer-service window); send an approved template instead",
            field="text",
            rule="whatsapp_24h_window",
        )
    return "open" if conversation_status in ("new", "resolved") else None
