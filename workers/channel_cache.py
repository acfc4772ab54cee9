"""Resolving a public channel id, with a short-lived cache in front of the database.

The ingress resolves each webhook's channel through it, the dispatcher each outbound message's.
``follow_changes`` keeps a cache in step with the database: a channel or tenant changed through
the API or the CLI is forgotten as the change commits, so the TTL is only the safety net.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from domain.channels import ChannelRoute

if TYPE_CHECKING:
    from persistence.changes import ConfigChange, ConfigChanges


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
        # Moves on every invalidation: a lookup that began before one is not cached.
        self._generation = 0

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
        generation = self._generation
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
        if generation != self._generation:
            return route  # changed while it was read: the next lookup reads it again
        while len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        ttl = self._ttl if route is not None else self._miss_ttl
        self._entries[public_id] = (now + ttl, route)
        return route

    def clear(self) -> None:
        self._generation += 1
        self._entries.clear()

    def forget(self, public_id: UUID) -> None:
        """The channel changed: the next lookup reads it afresh."""
        self._generation += 1
        self._entries.pop(public_id, None)

    def forget_tenant(self, tenant_id: UUID) -> None:
        """The tenant changed (deactivated, say): every channel of it is read afresh."""
        self._generation += 1
        for public_id, (_, route) in list(self._entries.items()):
            if route is not None and route.tenant_id == tenant_id:
                del self._entries[public_id]

    def changed(self, change: ConfigChange) -> None:
        """Apply a committed configuration change (``persistence.changes``)."""
        if change.table == "channels" and change.public_id is not None:
            self.forget(change.public_id)
        elif change.table == "tenants":
            self.forget_tenant(change.tenant_id)


def follow_changes(cache: CachedChannels, database_url: str) -> ConfigChanges:
    """A listener that keeps ``cache`` in step with the database (start it, close it)."""
    from persistence.changes import ConfigChanges

    return ConfigChanges(database_url, on_change=cache.changed, on_reset=cache.clear)
