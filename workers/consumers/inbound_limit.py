"""The inbound rate limit: a guest identity writing more than the tenant's messages a minute
(a flood, or another bot answering ours) gets no auto-reply until they have been quiet for a
minute; every message is still stored and decided (``skip``, reason ``rate_limited``), and
staff hear of it once, when the limit starts (an ``escalation.requested`` of that reason).

One statement in the autoreply transaction: the guest's bucket taken (``domain.rate_limits``).
"""

from __future__ import annotations

from datetime import datetime

from domain.events import EscalationRequested
from domain.rate_limits import Limit, inbound_key
from persistence.repositories.inbound import ReplyInput
from persistence.uow import UnitOfWork

REASON = "rate_limited"


async def held_back(
    uow: UnitOfWork, message: ReplyInput, *, per_minute: int, now: datetime
) -> bool:
    """Count ``message`` against its guest's limit; True when it is over the limit (its
    decision recorded, staff alerted if the limit starts with it): nothing else to do."""
    grant = await uow.rate_limits.admit(
        key=inbound_key(message.guest_id, message.channel_id),
        limit=Limit.per_minute(per_minute),
        at=now,
    )
    if not grant.limited:
        return False
    detail = f"more than {per_minute} messages a minute from this guest: auto-replies paused"
    await uow.inbound.record_decision(
        message_id=message.message_id, decision="skip", reason=f"{REASON} {detail}", at=now
    )
    if grant.newly_limited:
        uow.emit(
            EscalationRequested(
                tenant_id=uow.tenant_id,
                conversation_id=message.conversation_id,
                message_id=message.message_id,
                reason=REASON,
                detail=detail,
            )
        )
    return True
