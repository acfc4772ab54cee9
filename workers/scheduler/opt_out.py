"""STOP and START: a guest's answer that switches proactive messages off or on for a channel.

Called where inbound messages are decided (autoreply), before anything else: the keyword is
recorded (``opt_outs``) and the message needs no answer. The scheduler reads the record before
every proactive message.
"""

from __future__ import annotations

from datetime import datetime

from domain.scheduling import opt_keyword
from persistence.repositories.inbound import ReplyInput
from persistence.uow import UnitOfWork


async def apply_keyword(uow: UnitOfWork, message: ReplyInput, *, now: datetime) -> bool:
    """Record a STOP / START the message says; True when it said one (it is then decided)."""
    keyword = opt_keyword(message.content)
    if keyword is None:
        return False
    channel = await uow.channels.get(channel_id=message.channel_id)
    if channel is None:
        return False
    if keyword == "stop":
        await uow.schedule.opt_out(
            guest_id=message.guest_id,
            kind=channel.provider,
            keyword=(message.content or "").strip()[:40],
            message_id=message.message_id,
            at=now,
        )
        reason = f"opt-out: no more proactive messages on {channel.provider}"
    else:
        await uow.schedule.opt_in(guest_id=message.guest_id, kind=channel.provider)
        reason = f"opt-in: proactive messages on {channel.provider} again"
    await uow.inbound.record_decision(
        message_id=message.message_id, decision="skip", reason=reason, at=now
    )
    return True
