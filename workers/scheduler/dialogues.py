"""Idle bot dialogues expire when their inactivity timeout passes, whether or not the guest
writes again: the scheduler ends each one (``expired``, reason ``timeout``) under the
conversation's dialogue lock — the lock the dialogue responder takes for every message — and
drafts the flow's timeout message, if it has one, as a bot reply. A dialogue paused by a staff
takeover is left alone (it resumes when the conversation is handed back). Two schedulers
expire a dialogue once: the second finds it no longer active."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from uuid import UUID

import structlog

from persistence.uow import UnitOfWorkFactory
from workers.dialog.respond import expire

log = structlog.get_logger(__name__)
Clock = Callable[[], datetime]


class DialogueExpirer:
    def __init__(self, *, uow_factory: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow_factory = uow_factory
        self._clock = clock

    async def run_due(self, *, batch: int = 100) -> int:
        """Expire every active dialogue whose timeout has passed; how many were."""
        async with self._uow_factory.system() as system:
            due = await system.due_expired_dialogues(now=self._clock(), batch=batch)
        expired = 0
        for row in due:
            try:
                expired += await self.expire(
                    tenant_id=row.tenant_id, conversation_id=row.conversation_id
                )
            except Exception:  # one dialogue's trouble must not stop the sweep
                log.exception(
                    "expiring a dialogue failed", conversation_id=str(row.conversation_id)
                )
        return expired

    async def expire(self, *, tenant_id: UUID, conversation_id: UUID) -> int:
        """1 if the dialogue was still active and past its timeout and is now expired."""
        now = self._clock()
        async with self._uow_factory(tenant_id) as uow:
            state = await uow.flows.lock_dialog(conversation_id=conversation_id)
            if state.status != "active" or state.expires_at is None or state.expires_at > now:
                return 0
            conversation = await uow.conversations.get(conversation_id=conversation_id)
            if conversation is None or conversation.human_takeover:
                return 0
            notice = await expire(uow, state)
            if notice is not None:
                await uow.outbound.draft(
                    conversation_id=conversation.id,
                    channel_id=conversation.channel_id,
                    content=notice.text,
                    sender_type="bot",
                    send_after=now,
                    in_reply_to_id=state.last_message_id,
                )
            await uow.commit()
        log.info("idle dialogue expired", conversation_id=str(conversation_id))
        return 1
