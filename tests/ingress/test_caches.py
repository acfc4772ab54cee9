"""The channel cache and the replay guard, driven by a clock the test moves."""

from __future__ import annotations

import asyncio
import dataclasses
from uuid import UUID, uuid4

from domain.channels import ChannelRoute
from domain.events import Provider
from tests.ingress.support import StaticChannels
from tests.providers.factories import make_route
from workers.ingress.channels import CachedChannels
from workers.ingress.replay import ReplayGuard


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_changed_channel_is_seen_after_the_ttl() -> None:
    clock = Clock()
    route = make_route(Provider.TELEGRAM)
    inner = StaticChannels(route)
    cache = CachedChannels(inner, ttl=5.0, clock=clock)
    assert await cache.lookup(route.public_id) == route
    inner.add(dataclasses.replace(route, enabled=False))
    clock.now += 4.9
    found = await cache.lookup(route.public_id)
    assert found is not None
    assert found.enabled
    clock.now += 0.2
    found = await cache.lookup(route.public_id)
    assert found is not None
    assert not found.enabled
    assert inner.lookups == 2


async def test_misses_are_cached_briefly() -> None:
    clock = Clock()
    inner = StaticChannels()
    cache = CachedChannels(inner, ttl=5.0, miss_ttl=1.0, clock=clock)
    unknown = uuid4()
    assert await cache.lookup(unknown) is None
    assert await cache.lookup(unknown) is None
    assert inner.lookups == 1
    route = inner.add(dataclasses.replace(make_route(Provider.TELEGRAM), public_id=unknown))
    clock.now += 1.01
    assert await cache.lookup(unknown) == route


async def test_cache_is_bounded() -> None:
    inner = StaticChannels()
    cache = CachedChannels(inner, ttl=60.0, max_entries=3, clock=Clock())
    ids = [uuid4() for _ in range(5)]
    for public_id in ids:
        await cache.lookup(public_id)
    await cache.lookup(ids[0])  # evicted, so asked again
    assert inner.lookups == 6


def test_replay_guard() -> None:
    clock = Clock()
    guard = ReplayGuard(ttl=600.0, clock=clock)
    assert guard.claim("t1")
    assert not guard.claim("t1")
    guard.release("t1")
    assert guard.claim("t1")
    clock.now += 600.1
    assert guard.claim("t1")  # forgotten after the ttl: the timestamp check refuses it anyway


async def test_requests_missing_on_one_channel_at_once_share_one_lookup() -> None:
    route = make_route(Provider.TELEGRAM)

    class SlowChannels(StaticChannels):
        def __init__(self) -> None:
            super().__init__(route)
            self.gate = asyncio.Event()

        async def lookup(self, public_id: UUID) -> ChannelRoute | None:
            await self.gate.wait()
            return await super().lookup(public_id)

    inner = SlowChannels()
    cache = CachedChannels(inner, ttl=5.0, clock=Clock())
    waiting = [asyncio.create_task(cache.lookup(route.public_id)) for _ in range(20)]
    await asyncio.sleep(0)  # let every request reach the cache
    inner.gate.set()
    assert await asyncio.gather(*waiting) == [route] * 20
    assert inner.lookups == 1


async def test_a_failed_shared_lookup_fails_every_waiter_and_is_not_cached() -> None:
    route = make_route(Provider.TELEGRAM)

    class FlakyChannels(StaticChannels):
        def __init__(self) -> None:
            super().__init__(route)
            self.gate = asyncio.Event()
            self.fail = True

        async def lookup(self, public_id: UUID) -> ChannelRoute | None:
            await self.gate.wait()
            if self.fail:
                raise ConnectionRefusedError("database unreachable")
            return await super().lookup(public_id)

    inner = FlakyChannels()
    cache = CachedChannels(inner, ttl=5.0, clock=Clock())
    waiting = [asyncio.create_task(cache.lookup(route.public_id)) for _ in range(5)]
    await asyncio.sleep(0)
    inner.gate.set()
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(o, ConnectionRefusedError) for o in outcomes)
    inner.fail = False
    assert await cache.lookup(route.public_id) == route
