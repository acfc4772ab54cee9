"""Snoozed conversations wake when their time comes: the scheduler moves each one whose
``snoozed_until`` has passed back to ``open`` through the inbox's status command, so the change
is recorded in ``conversation_events`` (by the system), reaches staff on the live event stream,
and resumes the conversation's service-level clock, as a staff member reopening it would.

Run by every scheduler: each conversation is locked in its tenant's transaction and woken only
if it is still snoozed and due, so two schedulers wake it once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import structlog

from persistence.uow import UnitOfWorkFactory
from workers.api.commands.inbox import set_status

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class SnoozeWaker:
    def __init__(self, *, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def run_due(self, *, batch: int = 100) -> int:
        """Wake every snoozed conversation that is due; how many were woken."""
        async with self._uow_factory.system() as system:
            due = await system.due_snoozes(now=self._clock(), batch=batch)
        woken = 0
        for row in due:
            try:
                woken += await self.wake(
                    tenant_id=row.tenant_id, conversation_id=row.conversation_id
                )
            except Exception:  # one conversation's trouble must not stop the sweep
                log.exception(
                    "waking a snoozed conversation failed", conversation_id=str(row.conversation_id)
                )
        return woken

    async def wake(self, *, tenant_id: UUID, conversation_id: UUID) -> int:
        """1 if the conversation was still snoozed and due and is now open, else 0."""
        now = self._clock()
        async with self._uow_factory(tenant_id) as uow:
            conversation = await uow.conversations.get(
                conversation_id=conversation_id, for_update=True
            )
            if (
                conversation is None
                or conversation.status != "snoozed"
                or conversation.snoozed_until is None
                or conversation.snoozed_until > now
            ):
                return 0
            await set_status(
                uow, conversation=conversation, status="open", actor_user_id=None, now=now
            )
            await uow.commit()
        log.info("snoozed conversation woke", conversation_id=str(conversation_id))
        return 1
