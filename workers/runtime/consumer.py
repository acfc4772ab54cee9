"""What a consumer is: a name, the events it takes, and the handler that applies one."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.events import Event
from workers.runtime.topology import DEFAULT_DELIVERY_LIMIT, DEFAULT_RETRY_DELAYS, ConsumerQueues

if TYPE_CHECKING:
    from persistence.uow import UnitOfWork

Handler = Callable[[Any, "UnitOfWork"], Awaitable[None]]
Prepare = Callable[[Any], Awaitable[None]]
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")


class ConsumerConfigError(ValueError):
    """A consumer was declared with values the runner cannot work with."""


@dataclass(frozen=True)
class Consumer:
    """One consumer: its queue takes ``routing_keys``; ``handle(event, uow)`` applies an event
    of one of ``event_types`` inside the unit of work the runner opened and will commit.

    ``max_attempts`` counts every try of the handler, the first included; a retryable failure
    of the last one dead-letters the event. ``retry_delays`` are the tiers' delays in seconds
    (the last tier repeats when attempts outnumber tiers).

    ``prepare(event)``, when set, runs before the unit of work opens, with no transaction held:
    for work a handler needs done outside the database (calling a remote model). It runs again
    on every redelivery, so it must be idempotent; its failures are retried like the handler's.
    """

    name: str
    routing_keys: tuple[str, ...]
    event_types: tuple[type[Event], ...]
    handle: Handler
    prefetch: int = 32
    max_attempts: int = 5
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    delivery_limit: int = DEFAULT_DELIVERY_LIMIT
    prepare: Prepare | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ConsumerConfigError(f"consumer name {self.name!r} must match {_NAME.pattern}")
        if not self.routing_keys:
            raise ConsumerConfigError(f"consumer {self.name!r} binds no routing key")
        if not self.event_types:
            raise ConsumerConfigError(f"consumer {self.name!r} accepts no event type")
        if self.max_attempts < 1 or self.prefetch < 1 or self.delivery_limit < 1:
            raise ConsumerConfigError(
                f"consumer {self.name!r}: max_attempts, prefetch and delivery_limit must be >= 1"
            )
        if not self.retry_delays or any(delay <= 0 for delay in self.retry_delays):
            raise ConsumerConfigError(f"consumer {self.name!r} needs positive retry delays")

    def queues(self, namespace: str) -> ConsumerQueues:
        return ConsumerQueues(
            namespace=namespace,
            consumer=self.name,
            routing_keys=self.routing_keys,
            retry_delays=self.retry_delays,
            delivery_limit=self.delivery_limit,
        )
