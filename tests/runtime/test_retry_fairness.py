"""Events failing over and over never stand in front of fresh ones."""

from __future__ import annotations

from domain.events import MessageAccepted
from persistence.uow import UnitOfWork
from tests.runtime.support import ROUTING_KEY, accepted
from tests.support.waiting import eventually
from workers.runtime.consumer import Consumer
from workers.runtime.errors import RetryableError
from workers.runtime.publisher import build_message
from workers.runtime.runner import retry_share

POISON = 40
FRESH = 8
PREFETCH = 4


async def test_fresh_events_are_not_queued_behind_retried_ones(
    settings, start_worker, make_tenant, broker
) -> None:
    tenant = await make_tenant()
    poison = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(POISON)]
    fresh = [accepted(tenant.tenant_id, tenant.channel_id) for _ in range(FRESH)]
    poison_ids = {event.event_id for event in poison}
    calls: list[object] = []

    async def handle(event: MessageAccepted, uow: UnitOfWork) -> None:
        calls.append(event.event_id)
        if event.event_id in poison_ids:
            raise RetryableError("this one keeps failing")

    consumer = Consumer(
        name="fairness",
        routing_keys=(ROUTING_KEY,),
        event_types=(MessageAccepted,),
        handle=handle,
        prefetch=PREFETCH,
        max_attempts=100_000,  # cycling through the retries for the whole test
        retry_delays=(0.001,),  # straight back: the retried ones are always waiting
    )
    await start_worker([consumer], worker_batch_size=1)
    channel = await broker.channel(publisher_confirms=True)
    exchange = await channel.get_exchange(settings.exchange)

    async def publish(events: list[MessageAccepted]) -> None:
        for event in events:
            await exchange.publish(build_message(event), routing_key=event.routing_key)

    await publish(poison)

    async def cycling() -> bool:
        return all(calls.count(event_id) >= 2 for event_id in poison_ids)

    await eventually(cycling, deadline=60, what="every poison event to be retried")

    started = len(calls)
    await publish(fresh)
    fresh_ids = {event.event_id for event in fresh}

    async def all_fresh_handled() -> bool:
        return fresh_ids <= set(calls[started:])

    await eventually(all_fresh_handled, deadline=60, what="the fresh events")
    window = calls[started:]
    last_fresh = max(i for i, event_id in enumerate(window) if event_id in fresh_ids)
    retried_first = sum(1 for event_id in window[: last_fresh + 1] if event_id in poison_ids)
    # Retried events only get their own share of the worker while the fresh ones go through;
    # queued in front of them, about all of the poison would have gone first.
    share = retry_share(PREFETCH)
    assert retried_first <= POISON // 4, (
        f"{retried_first} retried deliveries handled before the {FRESH} fresh ones"
        f" (retry share {share})"
    )
    await channel.close()
