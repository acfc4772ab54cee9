"""Replies, counted twice: in the database and at the provider stand-in.

autoreply drafts each reply as an outbound ``messages`` row; the dispatcher sends it through the
channel's provider adapter to the run's stand-in and records ``sent`` with the id the stand-in
answered. A reply sent exactly once is one outbound row per reply decision, status sent, a
provider id no other row has, and one request at the stand-in.

The stand-in keeps only its newest sends (``GET /sent``), so :class:`StandInTally` reads the
list every second during the run and counts what was appended since the last read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from bench.collect import StoredMessage

SENT = ("sent", "delivered", "read")
FOLLOW_INTERVAL_SECONDS = 1.0


@dataclass(frozen=True)
class OutboundMessage:
    """A reply drafted by autoreply, as the dispatcher left it."""

    in_reply_to: str | None  # the inbound message's provider id
    provider: str
    status: str
    provider_message_id: str | None  # what the provider (the stand-in) answered
    sent_at: float | None


async def outbound_messages(connection: asyncpg.Connection, schema: str) -> list[OutboundMessage]:
    rows = await connection.fetch(
        "SELECT i.provider_message_id AS in_reply_to, c.provider, o.status,"  # noqa: S608 - schema name checked by settings
        " o.provider_message_id, extract(epoch FROM o.sent_at) AS sent"
        f" FROM {schema}.messages o"
        f" JOIN {schema}.channels c ON c.tenant_id = o.tenant_id AND c.id = o.channel_id"
        f" LEFT JOIN {schema}.messages i ON i.tenant_id = o.tenant_id AND i.id = o.in_reply_to_id"
        " WHERE o.direction = 'outbound'"
    )
    return [
        OutboundMessage(
            row["in_reply_to"],
            row["provider"],
            row["status"],
            row["provider_message_id"],
            float(row["sent"]) if row["sent"] is not None else None,
        )
        for row in rows
    ]


def appended(before: list[Any], after: list[Any], *, limit: int | None) -> list[Any] | None:
    """What was appended to a list that keeps its newest ``limit`` items, between two reads.

    None when the reads do not overlap (more was appended than the list keeps).
    """
    for evicted in range(len(before) + 1):
        kept = before[evicted:]
        if after[: len(kept)] == kept:
            if evicted == len(before) and before and limit is not None and len(after) >= limit:
                return None
            if evicted and (limit is None or len(after) < limit):
                continue  # nothing leaves a list that has not filled up
            return after[len(kept) :]
    return None


@dataclass
class StandInTally:
    """Every send the stand-in received, per provider, however many it keeps."""

    url: str
    limit: int | None = None
    received: Counter[str] = field(default_factory=Counter)
    lost_track: bool = False
    _last: list[dict[str, Any]] = field(default_factory=list)

    async def read(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"{self.url}/sent")
        response.raise_for_status()
        entries: list[dict[str, Any]] = response.json()
        new = appended(self._last, entries, limit=self.limit)
        if new is None:
            self.lost_track = True
            new = entries
        self.received.update(str(entry.get("provider")) for entry in new)
        self._last = entries

    async def follow(self, stop: asyncio.Event) -> None:
        """Reads the list every second until ``stop``, then once more.

        A read that fails loses count: the tally is then not trusted (``lost_track``).
        """
        async with httpx.AsyncClient(timeout=30.0) as client:
            try:
                while not stop.is_set():
                    await self.read(client)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), FOLLOW_INTERVAL_SECONDS)
                await self.read(client)
            except (httpx.HTTPError, ValueError):
                self.lost_track = True


def stand_in_limit() -> int | None:
    """How many sends the product's stand-in keeps, if it says."""
    from workers import standin

    limit = getattr(standin, "SENT_LIMIT", None)
    return limit if isinstance(limit, int) else None


def sends(
    stored: list[StoredMessage],
    outbound: list[OutboundMessage],
    stand_in: StandInTally | None,
    *,
    providers: tuple[str, ...],
) -> dict[str, Any]:
    """Every reply decided is drafted once and sent once, in the database and at the stand-in."""
    replies = {m.provider_message_id for m in stored if m.decision == "reply"}
    drafts = Counter(o.in_reply_to for o in outbound)
    not_drafted = sorted(replies - drafts.keys())
    drafted_twice = sorted(str(pmid) for pmid, n in drafts.items() if n > 1)
    unsent = sorted(str(o.in_reply_to) for o in outbound if o.status not in SENT)
    sent = [o for o in outbound if o.status in SENT]
    provider_ids = Counter(o.provider_message_id for o in sent)
    shared_ids = sorted(str(pid) for pid, n in provider_ids.items() if n > 1 or pid is None)
    sent_by_provider = Counter(o.provider for o in sent)
    checked = stand_in is not None and not stand_in.lost_track
    received = stand_in.received if stand_in is not None else Counter[str]()
    # More at the stand-in than recorded sent: a reply went out twice (or went out unrecorded);
    # fewer: a reply recorded sent never reached the provider.
    extra = sum(max(0, received[p] - sent_by_provider[p]) for p in providers)
    missing = sum(max(0, sent_by_provider[p] - received[p]) for p in providers)
    return {
        "replies_decided": len(replies),
        "drafted": len(outbound),
        "sent": len(sent),
        "statuses": dict(sorted(Counter(o.status for o in outbound).items())),
        "sent_by_provider": {p: sent_by_provider[p] for p in providers},
        "not_drafted": len(not_drafted),
        "drafted_twice": len(drafted_twice),
        "unsent": len(unsent),
        "provider_ids_shared_or_missing": len(shared_ids),
        "stand_in_checked": checked,
        "stand_in_received": sum(received[p] for p in providers) if checked else None,
        "stand_in_received_by_provider": {p: received[p] for p in providers} if checked else None,
        "stand_in_extra": extra if checked else None,
        "stand_in_missing": missing if checked else None,
        "examples": {
            "not_drafted": not_drafted[:5],
            "drafted_twice": drafted_twice[:5],
            "unsent": unsent[:5],
            "provider_ids_shared_or_missing": shared_ids[:5],
        },
        "complete": checked
        and not (not_drafted or drafted_twice or unsent or shared_ids or extra or missing),
    }
