"""Resolving a public channel id, with a short-lived cache in front of the database.

The ingress resolves each webhook's channel through it, the dispatcher each outbound message's.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol
from uuid import UUID

from domain.channels import ChannelRoute


class ChannelLookup(Protocol):
    async def lookup(self, public_id: UUID) -> ChannelRoute | None: ...


class CachedChannels:
    """Caches lookups for ``ttl`` seconds, so a changed or disabled channel is seen that late.

    Unknown ids are cached too, for ``miss_ttl`` (at most ``ttl``), so a flood of made-up ids
    costs one query per id and interval rather than one per request. At most ``max_entries``
    ids are kept; the oldest go first. Requests that miss on the same id at once share one
    lookup, so a burst on a cold channel is one query, not one per request.
    """

    def __init__(
        self,
        inner: ChannelLookup,
        *,
        ttl: float,
        miss_ttl: float = 1.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._ttl = ttl
        self._miss_ttl = min(miss_ttl, ttl)
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[UUID, tuple[float, ChannelRoute | None]] = {}
        self._loading: dict[UUID, asyncio.Future[ChannelRoute | None]] = {}

    async def lookup(self, public_id: UUID) -> ChannelRoute | None:
        now = self._clock()
        cached = self._entries.get(public_id)
        if cached is not None and cached[0] > now:
            return cached[1]
        loading = self._loading.get(public_id)
        if loading is not None:
            return await asyncio.shield(loading)
        loading = asyncio.get_running_loop().create_future()
        self._loading[public_id] = loading
        try:
            route = await self._inner.lookup(public_id)
        except BaseException as exc:
            loading.set_exception(exc)
            loading.exception()  # retrieved: waiters (if any) get it; none is fine too
            raise
        else:
            loading.set_result(route)
        finally:
            del self._loading[public_id]
        self._entries.pop(public_id, None)
        while len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        ttl = self._ttl if route is not None else self._miss_ttl
        self._entries[public_id] = (now + ttl, route)
        return route

    def clear(self) -> None:
        self._entries.clear()
