"""The SLA sweeper: warnings and breaches recorded exactly once, as their time comes.

Run by ``frontdesk scheduler`` beside the scheduled messages. Per due conversation, one
transaction of its tenant: claim it (``FOR UPDATE SKIP LOCKED``, its next check due), record
each warning (``sla_warnings``) and breach (``sla_violations``) now due, and set when to look
next. A breach also raises an ``sla_breach`` staff notification through the alert ladder and
the conversation's priority (as any escalation does); a warning tells the staff event stream.
Both rows are unique per conversation, policy and kind and inserted ``ON CONFLICT DO NOTHING``
in the transaction that notifies, so two sweepers, or a sweeper stopped and started again,
record and notify each once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import structlog

from domain.events import ConversationUpdated, EscalationRequested
from domain.service_levels import Kind
from domain.sla_targets import due_stages, next_check
from persistence.repositories.service_levels import state_of
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.consumers import escalation

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]
WHAT = {
    "first_response": "first response",
    "next_response": "next response",
    "resolution": "resolution",
}


def breach_detail(kind: Kind, due_at: datetime) -> str:
    return f"SLA {WHAT[kind]} target missed (due {due_at.isoformat(timespec='minutes')})"


class ServiceLevelSweeper:
    def __init__(self, *, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def run_due(self, *, batch: int = 100) -> int:
        """Check every conversation whose warning or deadline has come; how many were."""
        async with self._uow_factory.system() as system:
            due = await system.due_sla_checks(now=self._clock(), batch=batch)
        checked = 0
        for row in due:
            try:
                checked += await self.check(
                    tenant_id=row.tenant_id, conversation_id=row.conversation_id
                )
            except Exception:  # one conversation's trouble must not stop the sweep
                log.exception("SLA check failed", conversation_id=str(row.conversation_id))
        return checked

    async def check(self, *, tenant_id: UUID, conversation_id: UUID) -> int:
        """Record what is due of one conversation; 0 if it is not due or another sweeper holds
        it."""
        now = self._clock()
        async with self._uow_factory(tenant_id) as uow:
            conversation = await uow.service_levels.claim(conversation_id=conversation_id, now=now)
            if conversation is None:
                return 0
            state = state_of(conversation)
            if state is None:  # nothing to watch (the policy's rows were removed)
                await uow.service_levels.schedule(conversation_id=conversation.id, at=None)
                await uow.commit()
                return 1
            policy_id = state.terms.policy_id
            recorded = await uow.service_levels.recorded(
                conversation_id=conversation.id, policy_id=policy_id
            )
            for kind, stage, due_at in due_stages(state, now, recorded):
                created = await uow.service_levels.record(
                    conversation_id=conversation.id,
                    policy_id=policy_id,
                    kind=kind,
                    stage=stage,
                    due_at=due_at,
                    at=now,
                )
                if created:
                    await _tell(uow, conversation.id, kind, stage, due_at, now=now)
                recorded |= {(kind, stage)}
            await uow.service_levels.schedule(
                conversation_id=conversation.id, at=next_check(state, recorded)
            )
            await uow.commit()
        return 1


async def _tell(
    uow: UnitOfWork,
    conversation_id: UUID,
    kind: Kind,
    stage: str,
    due_at: datetime,
    *,
    now: datetime,
) -> None:
    change = "sla_breach" if stage == "breach" else "sla_warning"
    uow.staff_inbox.record(conversation_id, change, None, kind, None)
    uow.emit(
        ConversationUpdated(
            tenant_id=uow.tenant_id,
            conversation_id=conversation_id,
            change=change,
            to_value=kind,
        )
    )
    if stage == "breach":
        await escalation.request(
            EscalationRequested(
                tenant_id=uow.tenant_id,
                conversation_id=conversation_id,
                reason="sla_breach",
                detail=breach_detail(kind, due_at),
            ),
            uow,
            now=now,
        )
    log.info(
        "SLA " + stage,
        tenant_id=str(uow.tenant_id),
        conversation_id=str(conversation_id),
        kind=kind,
        due_at=due_at.isoformat(),
    )
