"""The channel cache forgets what a committed change names (``persistence.changes`` notices),
long before its TTL, and never keeps a value read while a change was landing."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from uuid import UUID

from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.changes import ConfigChange, parse_notice
from tests.ingress.support import StaticChannels
from tests.providers.factories import make_route
from workers.channel_cache import CachedChannels


async def test_a_change_notice_drops_the_channel_and_a_tenant_notice_its_channels() -> None:
    route = make_route(Provider.TELEGRAM)
    other = make_route(Provider.TWILIO_SMS)
    inner = StaticChannels(route, other)
    cache = CachedChannels(inner, ttl=3600.0)
    await cache.lookup(route.public_id)
    await cache.lookup(other.public_id)
    inner.add(dataclasses.replace(route, enabled=False))

    cache.changed(ConfigChange("knowledge_items", route.tenant_id))  # not a channel: kept
    assert (await cache.lookup(route.public_id)).enabled  # type: ignore[union-attr]
    cache.changed(ConfigChange("channels", route.tenant_id, route.public_id))
    assert not (await cache.lookup(route.public_id)).enabled  # type: ignore[union-attr]
    assert inner.lookups == 3

    cache.changed(ConfigChange("tenants", other.tenant_id))
    await cache.lookup(other.public_id)
    assert inner.lookups == 4


class SlowChannels:
    """Answers the route it had when asked, after ``release`` is set."""

    def __init__(self, route: ChannelRoute) -> None:
        self.route = route
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.lookups = 0

    async def lookup(self, public_id: UUID) -> ChannelRoute | None:
        self.lookups += 1
        seen = self.route
        self.started.set()
        await self.release.wait()
        return seen


async def test_a_value_read_while_a_change_lands_is_not_kept() -> None:
    route = make_route(Provider.TELEGRAM)
    inner = SlowChannels(route)
    cache = CachedChannels(inner, ttl=3600.0)
    reading = asyncio.create_task(cache.lookup(route.public_id))
    await inner.started.wait()
    inner.route = dataclasses.replace(route, enabled=False)
    cache.changed(ConfigChange("channels", route.tenant_id, route.public_id))
    inner.release.set()
    assert (await reading).enabled  # type: ignore[union-attr]  # the caller gets what was read
    assert not (await cache.lookup(route.public_id)).enabled  # type: ignore[union-attr]
    assert inner.lookups == 2


def test_notices_are_parsed_and_foreign_ones_ignored() -> None:
    tenant, public_id = make_route(Provider.TELEGRAM).tenant_id, UUID(int=7)
    notice = json.dumps(
        {"table": "channels", "tenant_id": str(tenant), "public_id": str(public_id)}
    )
    assert parse_notice(notice) == ConfigChange("channels", tenant, public_id)
    prompts = json.dumps({"table": "prompts", "tenant_id": str(tenant)})
    assert parse_notice(prompts) == ConfigChange("prompts", tenant)
    assert parse_notice("not json") is None
    assert parse_notice('{"table": "channels"}') is None
