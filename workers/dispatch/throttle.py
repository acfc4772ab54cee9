"""Keeping each channel's sends to its provider's limits (``domain.rate_limits``).

Inside the claim's transaction, before any row is marked ``sending``: the claimed sends take
tokens from their channel's bucket (and, where the provider limits each chat, from the chat's
first), oldest first. A send that gets no token is simply not claimed: its row stays
``pending``, unchanged, and its lock goes with the claim's commit, so a later sweep takes it
when the bucket has refilled. Nothing waits: a throttled channel's sends are left behind while
every other channel's go at once, and since the sweep takes each channel's due sends in turns
(``due_outbound``), a long backlog on one channel never crowds another's reply out of a sweep.

The buckets are taken atomically in SQL, so dispatchers sweeping side by side never exceed a
limit together. A chat token taken for a send its channel then refused is spent: that chat
waits a second longer, and no limit is ever exceeded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.events import Provider
from domain.rate_limits import Limit, SendLimits, channel_key, chat_key, send_limits
from persistence.repositories.rate_limits import Take
from persistence.uow import UnitOfWork
from workers.dispatch.recovery import Outcome

# (provider, the channel's own sends per second or None) -> the limits its sends keep to.
SendLimitLookup = Callable[[Provider, float | None], SendLimits]
THROTTLED = Outcome("throttled", "over the channel's send limit: left for a later sweep")


def provider_limits(provider: Provider, sends_per_second: float | None) -> SendLimits:
    """The providers' documented limits, or the channel's own rate."""
    return send_limits(provider, sends_per_second)


def no_limits(provider: Provider, sends_per_second: float | None) -> SendLimits:
    """Nothing limited (for tests about something else)."""
    return SendLimits(None)


@dataclass(frozen=True, slots=True)
class Send:
    """A claimed send as pacing sees it."""

    message_id: UUID
    channel_id: UUID
    to: str  # the guest's handle: their chat
    limits: SendLimits


Groups = dict[str, tuple[Limit, list[Send]]]


async def admitted(uow: UnitOfWork, sends: Sequence[Send], *, at: datetime) -> set[UUID]:
    """The messages of ``sends`` (oldest first) that may go now; the others wait."""
    chats: Groups = {}
    for send in sends:
        if send.limits.chat is not None:
            key = chat_key(send.channel_id, send.to)
            chats.setdefault(key, (send.limits.chat, []))[1].append(send)
    passed = await _take(uow, chats, at) | {s.message_id for s in sends if s.limits.chat is None}
    channels: Groups = {}
    free = set()
    for send in sends:
        if send.message_id not in passed:
            continue
        if send.limits.channel is None:
            free.add(send.message_id)
        else:
            key = channel_key(send.channel_id)
            channels.setdefault(key, (send.limits.channel, []))[1].append(send)
    return free | await _take(uow, channels, at)


async def _take(uow: UnitOfWork, groups: Groups, at: datetime) -> set[UUID]:
    """Take one token per send from each group's bucket; the sends granted one, oldest first."""
    if not groups:
        return set()
    takes = [Take(key, limit, wanted=len(members)) for key, (limit, members) in groups.items()]
    grants = await uow.rate_limits.take(takes=takes, at=at)
    return {
        send.message_id
        for key, (_, members) in groups.items()
        for send in members[: grants[key].granted]
    }
