"""Rate-limit buckets (``rate_limit_buckets``): taking tokens atomically, in one statement.

The statement is ``domain.rate_limits.take`` in SQL, for several buckets at once: it locks the
buckets that exist (in key order, so two takers never deadlock), refills each for the time
since its last take, spends what it grants and returns the grants; a bucket taken for the first
time is created full and taken from in the same statement. Two dispatchers (or two autoreply
workers) taking from one bucket at once queue on its row: the second computes its refill from
what the first left, so together they never spend more than the bucket held.

Capacity and refill are passed with every take (the current setting wins) and ``at`` is the
caller's clock, so a test moves time by moving its clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from domain.rate_limits import Grant, Limit
from persistence.repositories.base import Repository

_TAKE = (
    "WITH wanted AS (SELECT * FROM unnest($2::text[], $3::numeric[], $4::numeric[], $5::int[],"
    " $6::bool[]) AS w(bucket_key, capacity, per_second, wanted, latch)),"
    # The buckets that exist, locked, refilled up to $7 (never above capacity, never drained
    # by a clock behind the last take's).
    " held AS (SELECT b.id, w.bucket_key, w.capacity, w.per_second, w.wanted, w.latch,"
    " b.refilled_at, b.limited_since, least(w.capacity, b.tokens + w.per_second"
    " * greatest(0, extract(epoch FROM $7::timestamptz - b.refilled_at))) AS tokens"
    " FROM rate_limit_buckets b JOIN wanted w ON w.bucket_key = b.bucket_key"
    " WHERE b.tenant_id = $1 ORDER BY b.bucket_key FOR UPDATE OF b),"
    " decided AS (SELECT h.*, least(h.wanted, floor(h.tokens))::int AS spent,"
    " h.latch AND h.limited_since IS NOT NULL AND h.tokens < h.capacity AS still_limited"
    " FROM held h),"
    " refused AS (SELECT d.*, d.latch AND (d.still_limited OR d.spent < d.wanted) AS limited"
    " FROM decided d),"
    " taken AS (UPDATE rate_limit_buckets b SET tokens = r.tokens - r.spent,"
    " capacity = r.capacity, refill_per_second = r.per_second,"
    " refilled_at = greatest(r.refilled_at, $7),"
    " limited_since = CASE WHEN NOT r.limited THEN NULL"
    " WHEN r.still_limited THEN r.limited_since ELSE $7 END,"
    " updated_at = now()"
    " FROM refused r WHERE b.id = r.id"
    " RETURNING r.bucket_key, CASE WHEN r.limited THEN 0 ELSE r.spent END, r.limited,"
    " r.limited AND NOT r.still_limited),"
    # A bucket taken for the first time starts full. Another transaction creating it at the
    # same moment wins: this one returns nothing for it and the caller takes again.
    " created AS (INSERT INTO rate_limit_buckets (tenant_id, bucket_key, capacity,"
    " refill_per_second, tokens, refilled_at, limited_since)"
    " SELECT $1, w.bucket_key, w.capacity, w.per_second,"
    " w.capacity - least(w.wanted, floor(w.capacity)), $7,"
    " CASE WHEN w.latch AND w.wanted > floor(w.capacity) THEN $7::timestamptz END"
    " FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.bucket_key = w.bucket_key)"
    " ORDER BY w.bucket_key"
    " ON CONFLICT (tenant_id, bucket_key) DO NOTHING"
    " RETURNING bucket_key, CASE WHEN limited_since IS NULL THEN (capacity - tokens)::int"
    " ELSE 0 END, limited_since IS NOT NULL, limited_since IS NOT NULL)"
    " SELECT * FROM taken UNION ALL SELECT * FROM created"
)
_GET = (
    "SELECT tokens, capacity, refill_per_second, refilled_at, limited_since"
    " FROM rate_limit_buckets WHERE tenant_id = $1 AND bucket_key = $2"
)


@dataclass(frozen=True, slots=True)
class Take:
    """Up to ``wanted`` tokens of bucket ``key`` under ``limit``; ``latch``: all or none, and a
    refusal limits the bucket until it is full again (``domain.rate_limits.take``)."""

    key: str
    limit: Limit
    wanted: int = 1
    latch: bool = False


@dataclass(frozen=True, slots=True)
class StoredBucket:
    tokens: Decimal
    capacity: Decimal
    refill_per_second: Decimal
    refilled_at: datetime
    limited_since: datetime | None


class RateLimitRepository(Repository):
    async def take(self, *, takes: Sequence[Take], at: datetime) -> dict[str, Grant]:
        """Take from each bucket named (each key once), atomically; the grant per key."""
        keys = [t.key for t in takes]
        if len(set(keys)) != len(keys):
            raise ValueError("each bucket may be taken from once per statement")
        grants: dict[str, Grant] = {}
        pending = list(takes)
        # A second round only for buckets another transaction created meanwhile.
        for _ in range(2):
            if not pending:
                break
            grants.update(await self._take(pending, at))
            pending = [t for t in pending if t.key not in grants]
        for take in pending:  # created and taken by others twice over: nothing for now
            grants[take.key] = Grant(granted=0)
        return grants

    async def admit(self, *, key: str, limit: Limit, at: datetime) -> Grant:
        """One message of a latched bucket (a guest identity's messages): one statement."""
        grants = await self.take(takes=[Take(key, limit, wanted=1, latch=True)], at=at)
        return grants[key]

    async def get(self, *, key: str) -> StoredBucket | None:
        driver = await self._driver()
        row = await driver.fetchrow(_GET, self.tenant_id, key)
        return None if row is None else StoredBucket(*row)

    async def _take(self, takes: Sequence[Take], at: datetime) -> dict[str, Grant]:
        driver = await self._driver()
        rows = await driver.fetch(
            _TAKE,
            self.tenant_id,
            [t.key for t in takes],
            [_decimal(t.limit.capacity, 3) for t in takes],
            [_decimal(t.limit.per_second, 6) for t in takes],
            [t.wanted for t in takes],
            [t.latch for t in takes],
            at,
        )
        return {
            key: Grant(granted=granted, limited=limited, newly_limited=newly)
            for key, granted, limited, newly in rows
        }


def _decimal(value: float, places: int) -> Decimal:
    """As the column stores it (``capacity`` numeric(12,3), ``refill_per_second`` (12,6))."""
    return round(Decimal(str(value)), places)
