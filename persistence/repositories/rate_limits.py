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
from typing import cast

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    Integer,
    Numeric,
    Table,
    Text,
    and_,
    case,
    column,
    exists,
    extract,
    func,
    literal,
    not_,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert

from domain.rate_limits import Grant, Limit
from persistence.models import RateLimitBucket
from persistence.repositories.base import Repository
from persistence.statements import Compiled, param

buckets = cast(Table, RateLimitBucket.__table__)

_TENANT = param("tenant_id", PG_UUID(as_uuid=True))
_AT = param("at", DateTime(timezone=True))
_ZERO = literal(0, Integer())
# One row per bucket taken from (the arrays are read side by side).
_WANTED = (
    select(
        func.unnest(
            param("keys", ARRAY(Text())),
            param("capacities", ARRAY(Numeric())),
            param("per_seconds", ARRAY(Numeric())),
            param("wanted", ARRAY(Integer())),
            param("latches", ARRAY(Boolean())),
        )
        .table_valued(
            column("bucket_key", Text()),
            column("capacity", Numeric()),
            column("per_second", Numeric()),
            column("wanted", Integer()),
            column("latch", Boolean()),
        )
        .render_derived(name="w")
    )
).cte("wanted")
# The buckets that exist, locked in key order, refilled up to ``at`` (never above capacity,
# never drained by a clock behind the last take's).
_HELD = (
    select(
        buckets.c.id,
        _WANTED.c.bucket_key,
        _WANTED.c.capacity,
        _WANTED.c.per_second,
        _WANTED.c.wanted,
        _WANTED.c.latch,
        buckets.c.refilled_at,
        buckets.c.limited_since,
        func.least(
            _WANTED.c.capacity,
            buckets.c.tokens
            + _WANTED.c.per_second
            * func.greatest(_ZERO, extract("epoch", _AT - buckets.c.refilled_at)),
        ).label("tokens"),
    )
    .select_from(buckets.join(_WANTED, _WANTED.c.bucket_key == buckets.c.bucket_key))
    .where(buckets.c.tenant_id == _TENANT)
    .order_by(buckets.c.bucket_key)
    .with_for_update(of=buckets)
).cte("held")
_DECIDED = select(
    _HELD,
    func.least(_HELD.c.wanted, func.floor(_HELD.c.tokens)).cast(Integer).label("spent"),
    and_(
        _HELD.c.latch, _HELD.c.limited_since.is_not(None), _HELD.c.tokens < _HELD.c.capacity
    ).label("still_limited"),
).cte("decided")
_REFUSED = select(
    _DECIDED,
    and_(
        _DECIDED.c.latch, or_(_DECIDED.c.still_limited, _DECIDED.c.spent < _DECIDED.c.wanted)
    ).label("limited"),
).cte("refused")
_TAKEN = (
    update(buckets)
    .where(buckets.c.id == _REFUSED.c.id)
    .values(
        tokens=_REFUSED.c.tokens - _REFUSED.c.spent,
        capacity=_REFUSED.c.capacity,
        refill_per_second=_REFUSED.c.per_second,
        refilled_at=func.greatest(_REFUSED.c.refilled_at, _AT),
        limited_since=case(
            (not_(_REFUSED.c.limited), null()),
            (_REFUSED.c.still_limited, _REFUSED.c.limited_since),
            else_=_AT,
        ),
        updated_at=func.now(),
    )
    .returning(
        _REFUSED.c.bucket_key,
        case((_REFUSED.c.limited, _ZERO), else_=_REFUSED.c.spent).label("granted"),
        _REFUSED.c.limited,
        and_(_REFUSED.c.limited, not_(_REFUSED.c.still_limited)).label("newly_limited"),
    )
).cte("taken")
# A bucket taken for the first time starts full. Another transaction creating it at the same
# moment wins: this one returns nothing for it and the caller takes again.
_CREATED = (
    insert(buckets)
    .from_select(
        [
            "id",
            "tenant_id",
            "bucket_key",
            "capacity",
            "refill_per_second",
            "tokens",
            "refilled_at",
            "limited_since",
        ],
        select(
            func.gen_random_uuid(),  # the server's, as the column's server default makes it
            _TENANT,
            _WANTED.c.bucket_key,
            _WANTED.c.capacity,
            _WANTED.c.per_second,
            _WANTED.c.capacity - func.least(_WANTED.c.wanted, func.floor(_WANTED.c.capacity)),
            _AT,
            case((and_(_WANTED.c.latch, _WANTED.c.wanted > func.floor(_WANTED.c.capacity)), _AT)),
        )
        .where(~exists().where(_HELD.c.bucket_key == _WANTED.c.bucket_key))
        .order_by(_WANTED.c.bucket_key),
    )
    .on_conflict_do_nothing(index_elements=[buckets.c.tenant_id, buckets.c.bucket_key])
    .returning(
        buckets.c.bucket_key,
        case(
            (
                buckets.c.limited_since.is_(None),
                (buckets.c.capacity - buckets.c.tokens).cast(Integer),
            ),
            else_=_ZERO,
        ).label("granted"),
        buckets.c.limited_since.is_not(None).label("limited"),
        buckets.c.limited_since.is_not(None).label("newly_limited"),
    )
).cte("created")
_TAKE = Compiled.of(union_all(select(_TAKEN), select(_CREATED)))
_GET = Compiled.of(
    select(
        buckets.c.tokens,
        buckets.c.capacity,
        buckets.c.refill_per_second,
        buckets.c.refilled_at,
        buckets.c.limited_since,
    ).where(buckets.c.tenant_id == param("tenant_id"), buckets.c.bucket_key == param("key"))
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
        row = await self.sql.row(_GET, tenant_id=self.tenant_id, key=key)
        return None if row is None else StoredBucket(*row)

    async def _take(self, takes: Sequence[Take], at: datetime) -> dict[str, Grant]:
        rows = await self.sql.rows(
            _TAKE,
            tenant_id=self.tenant_id,
            keys=[t.key for t in takes],
            capacities=[_decimal(t.limit.capacity, 3) for t in takes],
            per_seconds=[_decimal(t.limit.per_second, 6) for t in takes],
            wanted=[t.wanted for t in takes],
            latches=[t.latch for t in takes],
            at=at,
        )
        return {
            key: Grant(granted=granted, limited=limited, newly_limited=newly)
            for key, granted, limited, newly in rows
        }


def _decimal(value: float, places: int) -> Decimal:
    """As the column stores it (``capacity`` numeric(12,3), ``refill_per_second`` (12,6))."""
    return round(Decimal(str(value)), places)
