"""Reading the outcome from the database as its owner: what was stored, decided, escalated.

The contract the benchmark relies on: every stored inbound ``messages`` row gets
``ai_decision`` in ('reply', 'escalate', 'skip') and ``ai_decided_at`` from the autoreply
consumer. The owner connection (the migration URL) reads across tenants.
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
)


@dataclass(frozen=True)
class StoredMessage:
    provider_message_id: str
    created_at: float
    decided_at: float | None
    decision: str | None


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


async def counts(connection: asyncpg.Connection, schema: str) -> tuple[int, int]:
    """(stored, decided) inbound messages."""
    row = await connection.fetchrow(
        f"SELECT count(*) AS stored, count(ai_decided_at) AS decided FROM {schema}.messages"  # noqa: S608 - schema name checked by settings
        " WHERE direction = 'inbound'"
    )
    assert row is not None
    return row["stored"], row["decided"]


async def wait_decided(
    connection: asyncpg.Connection,
    schema: str,
    *,
    expected: int,
    stall_seconds: float,
    on_progress: Callable[[int, int], None] | None = None,
    alive: Callable[[], None] | None = None,
) -> None:
    """Polls until ``expected`` inbound messages are decided; fails after a stall."""
    last_change = time.monotonic()
    last = (-1, -1)
    while True:
        stored, decided = await counts(connection, schema)
        if on_progress is not None:
            on_progress(stored, decided)
        if decided >= expected:
            return
        if alive is not None:
            alive()
        if (stored, decided) != last:
            last, last_change = (stored, decided), time.monotonic()
        elif time.monotonic() - last_change > stall_seconds:
            raise BenchError(
                f"no progress for {stall_seconds:.0f}s: {stored} of {expected} messages stored, "
                f"{decided} decided"
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


def completeness(posted: list[dict[str, Any]], stored: list[StoredMessage]) -> dict[str, Any]:
    """Every unique message stored exactly once and decided; duplicates not stored twice."""
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
        "complete": not (missing or doubled or undecided or bad_decision or refused),
    }
