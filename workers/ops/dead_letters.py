"""Reading, replaying and purging a consumer's dead letters.

A sweep reads the dead-letter queue with ``basic.get`` (no auto-ack), acts on the letters that
match, and hands every other one back with a single ``nack(multiple, requeue)`` at the end; a
classic queue puts requeued messages back where they were, so the queue keeps its order. It
reads at most the depth the queue had when the sweep began: a replayed letter that fails again
lands behind that mark and is not replayed a second time by the same sweep. A replay is
published (confirmed) before its dead letter is acked, so a crash leaves a duplicate the inbox
absorbs, never a loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from workers.runtime import headers
from workers.runtime.topology import ConsumerQueues


class Action(StrEnum):
    LIST = "list"
    REPLAY = "replay"
    PURGE = "purge"


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str | bytes):
        text = value.decode() if isinstance(value, bytes) else value
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    message_id: str | None
    event_type: str | None
    tenant_id: str | None
    reason: str | None
    error: str | None
    routing_key: str | None
    attempt: int
    replay_count: int
    first_failure: datetime | None
    dead_at: datetime | None
    body: bytes
    headers: dict[str, Any]

    @classmethod
    def from_message(cls, consumer: str, message: AbstractIncomingMessage) -> DeadLetter:
        carried = dict(message.headers)
        deaths = carried.get("x-death")
        first_death = deaths[0] if isinstance(deaths, list) and deaths else None
        broker_time = first_death.get("time") if isinstance(first_death, dict) else None
        return cls(
            consumer=consumer,
            message_id=message.message_id,
            event_type=message.type,
            tenant_id=headers.text(carried, headers.TENANT),
            reason=headers.reason_of(carried),
            error=headers.text(carried, headers.ERROR),
            routing_key=headers.text(carried, headers.ROUTING_KEY) or message.routing_key,
            attempt=headers.attempt_of(carried),
            replay_count=headers.replay_count_of(carried),
            first_failure=_parse_time(carried.get(headers.FIRST_FAILURE)),
            dead_at=_parse_time(carried.get(headers.DEAD_AT)) or _parse_time(broker_time),
            body=message.body,
            headers=carried,
        )


@dataclass(frozen=True)
class Selection:
    """Which dead letters an operation applies to; unset fields match everything."""

    tenant_id: str | None = None
    reason: str | None = None
    message_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.tenant_id is not None and letter.tenant_id != self.tenant_id:
            return False
        if self.reason is not None and letter.reason != self.reason:
            return False
        if self.message_id is not None and letter.message_id != self.message_id:
            return False
        if self.since is not None and (letter.dead_at is None or letter.dead_at < self.since):
            return False
        return not (
            self.until is not None and (letter.dead_at is None or letter.dead_at >= self.until)
        )


@dataclass
class SweepResult:
    consumer: str
    scanned: int = 0
    matched: list[DeadLetter] = field(default_factory=list)


def replay_message(message: AbstractIncomingMessage) -> aio_pika.Message:
    """The dead letter as it goes back to its consumer: its headers, one more replay counted,
    and its attempts reset so the fixed consumer gets a full set of retries."""
    replayed = headers.own_headers(message.headers)
    replayed.pop(headers.ATTEMPT, None)
    replayed[headers.REPLAY_COUNT] = headers.replay_count_of(message.headers) + 1
    return headers.copy_message(message, replayed)


async def sweep(
    channel: AbstractChannel,
    queues: ConsumerQueues,
    selection: Selection,
    action: Action,
    *,
    dry_run: bool = False,
    on_match: Callable[[DeadLetter], None] | None = None,
) -> SweepResult:
    """Apply ``action`` to the matching dead letters of one consumer. ``channel`` must have
    publisher confirms on (replays are confirmed before the dead letter is acked)."""
    queue = await channel.declare_queue(queues.dead, passive=True)
    depth = queue.declaration_result.message_count or 0
    result = SweepResult(consumer=queues.consumer)
    last_held: AbstractIncomingMessage | None = None
    try:
        while result.scanned < depth:
            if selection.limit is not None and len(result.matched) >= selection.limit:
                break
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            result.scanned += 1
            letter = DeadLetter.from_message(queues.consumer, message)
            if not selection.matches(letter):
                last_held = message
                continue
            if action is Action.LIST or dry_run:
                last_held = message
            else:
                try:
                    if action is Action.REPLAY:
                        await channel.default_exchange.publish(
                            replay_message(message), routing_key=queues.main, mandatory=True
                        )
                except BaseException:
                    last_held = message
                    raise
                await message.ack()
            result.matched.append(letter)
            if on_match is not None:
                on_match(letter)
    finally:
        if last_held is not None and not channel.is_closed:
            # Every delivery up to this one that was not acked goes back, in its place.
            await last_held.nack(multiple=True, requeue=True)
    return result
