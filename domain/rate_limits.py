"""Token buckets: how many messages may go (or be answered) now, and the providers' limits.

A bucket holds up to ``capacity`` tokens (the burst) and gains ``per_second`` of them every
second; each message takes one. ``take`` is the whole arithmetic, pure; the repository
(``persistence.repositories.rate_limits``) runs the same computation in one SQL statement so
that two processes taking from one bucket at once can never both spend the same token.

A *latched* bucket (a guest's inbound messages) stays limited once it ran dry, until a whole
``capacity`` has built up again: a flood, or two auto-responders answering each other, stops
the auto-replies until the guest has been quiet for a while, rather than letting one message
through every time a token trickles back (which would keep a loop between two bots going).
Only the take that starts the limit reports ``newly_limited``: staff hear of a flood once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from domain.events import Provider

# A new tenant's limit on one guest identity's messages before auto-replies stop.
DEFAULT_INBOUND_PER_MINUTE = 20
INBOUND_PER_MINUTE_RANGE = (1, 1000)
# The most a channel's send rate may be set to (messages per second).
MAX_SENDS_PER_SECOND = 1000.0


@dataclass(frozen=True, slots=True)
class Limit:
    """``capacity`` tokens at most (the burst), refilled at ``per_second``."""

    capacity: float
    per_second: float

    def __post_init__(self) -> None:
        if self.capacity < 1:
            raise ValueError("capacity must be at least 1: a bucket must be able to hold a token")
        if self.per_second <= 0:
            raise ValueError("per_second must be positive")

    @classmethod
    def per_minute(cls, messages: int) -> Limit:
        """``messages`` a minute, all of them at once if they come in a burst."""
        return cls(capacity=float(messages), per_second=messages / 60)

    @classmethod
    def rate(cls, per_second: float) -> Limit:
        """``per_second`` messages a second, a second's worth at once (at least one)."""
        return cls(capacity=max(1.0, float(math.floor(per_second))), per_second=per_second)


@dataclass(frozen=True, slots=True)
class Bucket:
    """A bucket's state as stored: ``tokens`` as of ``refilled_at``; ``limited_since`` when a
    latched bucket ran dry (None while it is not limited)."""

    tokens: float
    refilled_at: datetime
    limited_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """What a take gave: ``granted`` of the tokens wanted; ``limited`` when a latched bucket
    refused (it is limited); ``newly_limited`` when this take started the limit."""

    granted: int
    limited: bool = False
    newly_limited: bool = False


def available(bucket: Bucket, limit: Limit, now: datetime) -> float:
    """The tokens in ``bucket`` at ``now``: refilled for the time since, never above capacity.
    A clock behind ``refilled_at`` (another process's) refills nothing rather than drains."""
    elapsed = max(0.0, (now - bucket.refilled_at).total_seconds())
    return min(limit.capacity, bucket.tokens + limit.per_second * elapsed)


def take(
    bucket: Bucket | None, limit: Limit, *, wanted: int, now: datetime, latch: bool = False
) -> tuple[Bucket, Grant]:
    """Take up to ``wanted`` whole tokens at ``now``; a missing bucket starts full.

    Not latched: as many as there are. Latched: all of ``wanted`` or none; a refusal starts a
    limit that lasts until the bucket is full again, and while it lasts every take is refused
    (still spending a token if there is one, so a flood that goes on keeps the limit on).
    """
    if wanted < 0:
        raise ValueError("wanted must not be negative")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    current = bucket or Bucket(tokens=limit.capacity, refilled_at=now)
    tokens = available(current, limit, now)
    refilled_at = max(current.refilled_at, now)
    spent = min(wanted, math.floor(tokens))
    if not latch:
        return Bucket(tokens - spent, refilled_at), Grant(granted=spent)
    # A full bucket means a whole capacity built up since the last message: the flood is over.
    still_limited = current.limited_since is not None and tokens < limit.capacity
    if not still_limited and spent == wanted:
        return Bucket(tokens - spent, refilled_at), Grant(granted=spent)
    limited_since = current.limited_since if still_limited else now
    return (
        Bucket(tokens - spent, refilled_at, limited_since),
        Grant(granted=0, limited=True, newly_limited=not still_limited),
    )


@dataclass(frozen=True, slots=True)
class SendLimits:
    """A channel's send limits: per sending account (``channel``) and per guest chat
    (``chat``); None where nothing is limited."""

    channel: Limit | None
    chat: Limit | None = None
    source: str = "provider"  # "provider" (the provider's documented limit) or "channel"


# The providers' documented limits. Green API queues sends itself, one at a time with the
# interval set on the instance; an SMTP server takes what it is given.
PROVIDER_SEND_LIMITS: dict[Provider, SendLimits] = {
    # Cloud API: 80 messages a second per business phone number (the default throughput).
    Provider.WHATSAPP_CLOUD: SendLimits(Limit.rate(80)),
    # Twilio: one message segment a second per US/CA long code.
    Provider.TWILIO_SMS: SendLimits(Limit.rate(1)),
    # Bot API: about 30 messages a second per bot, and no more than one a second in a chat.
    Provider.TELEGRAM: SendLimits(Limit.rate(30), chat=Limit.rate(1)),
    Provider.GREEN_API: SendLimits(None),
    Provider.EMAIL: SendLimits(None),
}


def send_limits(provider: Provider | str, sends_per_second: float | None = None) -> SendLimits:
    """The limits a channel's sends keep to: ``sends_per_second`` (the channel's own setting)
    in place of the provider's per-account limit; the provider's per-chat limit stays."""
    defaults = PROVIDER_SEND_LIMITS[Provider(provider)]
    if sends_per_second is None:
        return defaults
    return SendLimits(Limit.rate(sends_per_second), chat=defaults.chat, source="channel")


def channel_key(channel_id: object) -> str:
    """The bucket of a channel's sends."""
    return f"send:{channel_id}"


def chat_key(channel_id: object, handle: str) -> str:
    """The bucket of a channel's sends to one guest chat."""
    return f"send:{channel_id}:{handle}"


def inbound_key(guest_id: object, channel_id: object) -> str:
    """The bucket of one guest identity's messages (a guest on one channel)."""
    return f"inbound:{channel_id}:{guest_id}"
