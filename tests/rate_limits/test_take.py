"""Taking from buckets in SQL (``persistence.repositories.rate_limits``): the statement computes
what ``domain.rate_limits.take`` computes, and concurrent takers never overspend a bucket."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

from domain.rate_limits import Bucket, Grant, Limit, take
from persistence.repositories.rate_limits import Take
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def taken(
    uow_factory: UnitOfWorkFactory, tenant_id: UUID, takes: list[Take], at: datetime
) -> dict[str, Grant]:
    async with uow_factory(tenant_id) as uow:
        grants = await uow.rate_limits.take(takes=takes, at=at)
        await uow.commit()
    return grants


async def test_the_statement_computes_what_the_domain_computes(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant()
    draws = random.Random(7)
    limits = {
        "plain": (Limit(capacity=4, per_second=0.75), False),
        "latched": (Limit.per_minute(3), True),
    }
    model: dict[str, Bucket | None] = dict.fromkeys(limits)
    at = T0
    for _ in range(60):
        at += timedelta(seconds=draws.choice((0, 0.25, 0.5, 1, 2.5, 7, 30, 70)))
        wanted = {"plain": draws.randint(0, 5), "latched": 1}
        grants = await taken(
            uow_factory,
            tenant.tenant_id,
            [Take(key, limit, wanted[key], latch) for key, (limit, latch) in limits.items()],
            at,
        )
        for key, (limit, latch) in limits.items():
            model[key], expected = take(model[key], limit, wanted=wanted[key], now=at, latch=latch)
            assert grants[key] == expected, (key, at)
    async with uow_factory(tenant.tenant_id) as uow:
        stored = await uow.rate_limits.get(key="plain")
    plain = model["plain"]
    assert stored is not None
    assert plain is not None
    assert abs(float(stored.tokens) - plain.tokens) < 0.001
    assert stored.refilled_at == plain.refilled_at


async def test_a_changed_limit_applies_at_the_next_take(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant()
    key = f"send:{uuid4()}"
    first = await taken(uow_factory, tenant.tenant_id, [Take(key, Limit.rate(10), 2)], T0)
    assert first[key].granted == 2
    # Lowered to 1 a second: the 8 tokens left are cut to the new capacity.
    second = await taken(uow_factory, tenant.tenant_id, [Take(key, Limit.rate(1), 5)], T0)
    assert second[key].granted == 1
    async with uow_factory(tenant.tenant_id) as uow:
        stored = await uow.rate_limits.get(key=key)
    assert stored is not None
    assert (stored.capacity, stored.tokens) == (Decimal(1), Decimal(0))


async def test_concurrent_takers_never_spend_more_than_the_bucket_holds(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    """Eight transactions at once, on a bucket that does not exist yet and then on one that
    does: together they get exactly its capacity, never more."""
    tenant = await make_tenant()
    key = f"send:{uuid4()}"
    limit = Limit(capacity=5, per_second=1)

    async def one(at: datetime) -> int:
        grants = await taken(uow_factory, tenant.tenant_id, [Take(key, limit, 2)], at)
        return grants[key].granted

    created = await asyncio.gather(*(one(T0) for _ in range(8)))
    assert sum(created) == 5
    # Three seconds later three tokens are back: eight takers share exactly three.
    later = await asyncio.gather(*(one(T0 + timedelta(seconds=3)) for _ in range(8)))
    assert sum(later) == 3


async def test_buckets_are_the_tenants_own(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    first, second = await make_tenant(), await make_tenant()
    key = "inbound:same-key"
    limit = Limit(capacity=1, per_second=0.01)
    assert (await taken(uow_factory, first.tenant_id, [Take(key, limit)], T0))[key].granted == 1
    assert (await taken(uow_factory, second.tenant_id, [Take(key, limit)], T0))[key].granted == 1
    assert (await taken(uow_factory, first.tenant_id, [Take(key, limit)], T0))[key].granted == 0
