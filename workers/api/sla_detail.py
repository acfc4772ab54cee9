"""A conversation's service levels as its detail shows them: the policy that applied, the terms
copied then, and each target's deadline, warning time, paused remainder and what was recorded."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from domain.service_levels import KINDS
from persistence.models import Conversation
from persistence.uow import UnitOfWork


class SlaTarget(BaseModel):
    """One target of a conversation: its deadline while it runs (null: met, not started,
    paused or stopped), what was left of it when the clock paused, and what was recorded."""

    target_minutes: int | None
    due_at: datetime | None
    warn_at: datetime | None
    paused_minutes_left: int | None
    warned: bool
    breached: bool


class SlaOut(BaseModel):
    """The policy that applied to a conversation, with the terms copied then."""

    policy_id: UUID
    clock: str
    warning_percent: int | None
    bot_reply_counts: bool
    first_response: SlaTarget
    next_response: SlaTarget
    resolution: SlaTarget


async def sla_of(uow: UnitOfWork, c: Conversation) -> SlaOut | None:
    """A conversation's service levels (None: no policy applies to it)."""
    if c.sla_policy_id is None:
        return None
    recorded = await uow.service_levels.recorded(conversation_id=c.id, policy_id=c.sla_policy_id)
    targets = {}
    for kind in KINDS:
        left = getattr(c, f"sla_{kind}_left")
        targets[kind] = SlaTarget(
            target_minutes=getattr(c, f"sla_{kind}_minutes"),
            due_at=getattr(c, f"{kind}_due_at"),
            warn_at=getattr(c, f"sla_{kind}_warn_at"),
            paused_minutes_left=None if left is None else int(left.total_seconds() // 60),
            warned=(kind, "warning") in recorded,
            breached=(kind, "breach") in recorded,
        )
    return SlaOut(
        policy_id=c.sla_policy_id,
        clock=c.sla_clock or "calendar",
        warning_percent=c.sla_warning_percent,
        bot_reply_counts=c.sla_bot_reply_counts,
        **targets,
    )
