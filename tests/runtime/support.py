"""A consumer whose every committed run leaves one row, so tests can count effects exactly."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import AutoReplySkipped, MessageAccepted
from persistence.uow import UnitOfWork
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError, RetryableError

ROUTING_KEY = MessageAccepted.routing_key


@dataclass
class Script:
    """How the test handler misbehaves, per event id; ``calls`` counts every try."""

    fail_first: dict[UUID, int] = field(default_factory=dict)
    always_retryable: set[UUID] = field(default_factory=set)
    permanent: set[UUID] = field(default_factory=set)
    emit: bool = False
    calls: Counter[UUID] = field(default_factory=Counter)

    def fix(self) -> None:
        """The cause is found and fixed: every event succeeds from now on."""
        self.fail_first.clear()
        self.always_retryable.clear()
        self.permanent.clear()


def effect_consumer(
    name: str,
    script: Script | None = None,
    *,
    max_attempts: int = 4,
    retry_delays: tuple[float, ...] = (0.05, 0.1),
    prefetch: int = 32,
) -> Consumer:
    script = script or Script()

    async def handle(event: MessageAccepted, uow: UnitOfWork) -> None:
        script.calls[event.event_id] += 1
        await uow.comms_events.add(
            channel_id=event.channel_id,
            provider="green_api",
            direction="inbound",
            kind="message",
            payload={"event_id": str(event.event_id), "consumer": name},
        )
        if event.event_id in script.permanent:
            raise PermanentError("this event can never be applied")
        if event.event_id in script.always_retryable:
            raise RetryableError("still broken")
        if script.fail_first.get(event.event_id, 0) >= script.calls[event.event_id]:
            raise RetryableError(f"failing try {script.calls[event.event_id]} on purpose")
        if script.emit:
            uow.emit(
                AutoReplySkipped(
                    tenant_id=event.tenant_id,
                    message_id=event.message_id,
                    conversation_id=event.conversation_id,
                    reason=f"handled {event.event_id}",
                )
            )

    return Consumer(
        name=name,
        routing_keys=(ROUTING_KEY,),
        event_types=(MessageAccepted,),
        handle=handle,
        prefetch=prefetch,
        max_attempts=max_attempts,
        retry_delays=retry_delays,
    )


def accepted(tenant_id: UUID, channel_id: UUID) -> MessageAccepted:
    return MessageAccepted(
        tenant_id=tenant_id,
        message_id=uuid4(),
        conversation_id=uuid4(),
        guest_id=uuid4(),
        channel_id=channel_id,
    )


async def effects(owner: AsyncEngine, tenant_id: UUID) -> Counter[str]:
    """Committed effects of the test handler for one tenant: event id -> rows."""
    async with owner.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT payload->>'event_id', count(*) FROM comms_events"
                " WHERE tenant_id = :tenant GROUP BY 1"
            ),
            {"tenant": tenant_id},
        )
        return Counter(dict(rows.all()))


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0
