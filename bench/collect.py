"""Reading the outcome from the database as its owner: what was stored, decided, escalated,
drafted and sent.

The contract the benchmark relies on: every stored inbound ``messages`` row gets
``ai_decision`` in ('reply', 'escalate', 'skip') and ``ai_decided_at`` from the autoreply
consumer; a reply is an outbound row (``in_reply_to_id``) that the dispatcher moves from
``pending`` to a final status. The owner connection (the migration URL) reads across tenants.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.processes import BenchError

REQUIRED_COLUMNS = (
    "provider_message_id",
    "direction",
    "created_at",
    "ai_decision",
    "ai_decided_at",
    "in_reply_to_id",
    "sent_at",
)
# An outbound message in one of these has left the dispatcher's hands.
FINAL_SEND_STATES = ("sent", "delivered", "read", "failed", "cancelled", "uncertain")


@dataclass(frozen=True)
class StoredMessage:
    provider_message_id: str
    created_at: float
    decided_at: float | None
    decision: str | None


@dataclass(frozen=True)
class Progress:
    stored: int
    decided: int
    drafted: int  # outbound rows
    unsettled: int  # outbound rows not yet in a final state

    @property
    def moving(self) -> tuple[int, int, int, int]:
        return (self.stored, self.decided, self.drafted, self.unsettled)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def check_contract(connection: asyncpg.Connection, schema: str) -> None:
    """Fails with the missing column names if the decision contract is not in the schema."""
    present = {
        row["column_name"]
        for row in await connection.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND table_name = 'messages'",
            schema,
        )
    }
    missing = [column for column in REQUIRED_COLUMNS if column not in present]
    if missing:
        raise BenchError(
            f"{schema}.messages lacks {', '.join(missing)}: the benchmark needs the autoreply "
            "consumer's decision columns (ai_decision, ai_decided_at) to know when a message "
            "reached its final state"
        )


async def counts(connection: asyncpg.Connection, schema: str) -> Progress:
    """Inbound messages stored and decided; replies drafted and not yet settled."""
    row = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE direction = 'inbound') AS stored,"  # noqa: S608 - schema name checked by settings
        " count(ai_decided_at) FILTER (WHERE direction = 'inbound') AS decided,"
        " count(*) FILTER (WHERE direction = 'outbound') AS drafted,"
        " count(*) FILTER (WHERE direction = 'outbound' AND NOT status = ANY($1::text[]))"
        f" AS unsettled FROM {schema}.messages",
        list(FINAL_SEND_STATES),
    )
    assert row is not None
    return Progress(row["stored"], row["decided"], row["drafted"], row["unsettled"])


async def wait_settled(
    connection: asyncpg.Connection,
    schema: str,
    *,
    expected: int,
    stall_seconds: float,
    on_progress: Callable[[Progress], None] | None = None,
    alive: Callable[[], None] | None = None,
) -> None:
    """Polls until ``expected`` inbound messages are decided and every reply drafted has left
    the dispatcher; fails after a stall."""
    last_change = time.monotonic()
    last: tuple[int, ...] = ()
    while True:
        progress = await counts(connection, schema)
        if on_progress is not None:
            on_progress(progress)
        if progress.decided >= expected and progress.unsettled == 0:
            return
        if alive is not None:
            alive()
        if progress.moving != last:
            last, last_change = progress.moving, time.monotonic()
        elif time.monotonic() - last_change > stall_seconds:
            raise BenchError(
                f"no progress for {stall_seconds:.0f}s: {progress.stored} of {expected} messages"
                f" stored, {progress.decided} decided; {progress.unsettled} of"
                f" {progress.drafted} replies not sent"
            )
        await asyncio.sleep(0.25)  # polling interval


async def stored_messages(connection: asyncpg.Connection, schema: str) -> list[StoredMessage]:
    rows = await connection.fetch(
        "SELECT provider_message_id, extract(epoch FROM created_at) AS created,"  # noqa: S608
        " extract(epoch FROM ai_decided_at) AS decided, ai_decision"
        f" FROM {schema}.messages WHERE direction = 'inbound'"
    )
    return [
        StoredMessage(
            row["provider_message_id"],
            float(row["created"]),
            float(row["decided"]) if row["decided"] is not None else None,
            row["ai_decision"],
        )
        for row in rows
    ]


async def escalation_times(connection: asyncpg.Connection, schema: str) -> list[float]:
    """When staff notifications were created (the escalation consumer's output), if any."""
    try:
        rows = await connection.fetch(
            f"SELECT extract(epoch FROM created_at) AS at FROM {schema}.staff_notifications"  # noqa: S608
        )
    except asyncpg.UndefinedTableError:
        return []
    return [float(row["at"]) for row in rows]


def completeness(
    posted: list[dict[str, Any]],
    stored: list[StoredMessage],
    replies: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every unique message stored exactly once and decided; duplicates not stored twice; and
    when ``replies`` (from :func:`bench.sends.sends`) is given, every reply sent exactly once."""
    accepted = {r["provider_message_id"] for r in posted if 200 <= r["status"] < 300}
    unique = {r["provider_message_id"] for r in posted if not r["duplicate"]}
    duplicates = sum(1 for r in posted if r["duplicate"])
    times: dict[str, int] = {}
    for message in stored:
        times[message.provider_message_id] = times.get(message.provider_message_id, 0) + 1
    doubled = sorted(pmid for pmid, n in times.items() if n > 1)
    missing = sorted(unique - times.keys())
    undecided = sorted({m.provider_message_id for m in stored if m.decided_at is None})
    bad_decision = sorted(
        {m.provider_message_id for m in stored if m.decision not in ("reply", "escalate", "skip")}
    )
    refused = sorted(unique - accepted)
    return {
        "unique_posted": len(unique),
        "duplicates_posted": duplicates,
        "stored": len(stored),
        "missing": len(missing),
        "stored_twice": len(doubled),
        "undecided": len(undecided),
        "invalid_decision": len(bad_decision),
        "refused_by_ingress": len(refused),
        "examples": {
            "missing": missing[:5],
            "stored_twice": doubled[:5],
            "undecided": undecided[:5],
            "refused": refused[:5],
        },
        "replies": replies,
        "complete": not (missing or doubled or undecided or bad_decision or refused)
        and (replies is None or bool(replies["complete"])),
    }
