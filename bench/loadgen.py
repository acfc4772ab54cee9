"""The load generator: posts signed webhooks at a fixed rate or as fast as the target answers.

It runs in its own process (``python -m bench.loadgen PLAN OUT``) so its CPU is not the
ingress's. The plan (JSON) names the targets, the channels, the phase and this process's
shard; every ``duplicate_every``-th message is followed by an exact copy of a message posted
a little earlier, the way a provider retries after a lost answer. Like a provider, it retries
a 5xx or a broken connection with backoff; the latency clock starts at the first attempt.

While it runs it prints a JSON progress line to stdout every half second; the records (one
CSV row per posted webhook) are written to OUT at the end.
"""

from __future__ import annotations

import asyncio
import csv
import json
import ssl
import sys
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.texts import text_for
from workers.webhook_samples import SampleChannel, Webhook, build, resign

MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 0.05
# A duplicate repeats the message posted this many messages earlier (in this shard).
DUPLICATE_LAG = 10

FIELDS = ("provider_message_id", "seq", "duplicate", "posted_at", "elapsed", "status", "attempts")


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    first_seq: int
    count: int
    rate: float | None  # messages/s offered by all shards together; None = saturation
    concurrency: int = 64
    duplicate_every: int = 20
    shard: int = 0
    shards: int = 1

    def seqs(self) -> range:
        return range(self.first_seq + self.shard, self.first_seq + self.count, self.shards)


@dataclass
class Progress:
    posted: int = 0
    failed: int = 0
    records: list[tuple[Any, ...]] = field(default_factory=list)


def plan_json(
    *, base_urls: list[str], channels: list[SampleChannel], phase: Phase
) -> dict[str, Any]:
    return {
        "base_urls": base_urls,
        "channels": [c.to_json() for c in channels],
        "phase": asdict(phase),
    }


WorkItem = tuple[int, SampleChannel, Webhook, bool, float, int]


def _work(phase: Phase, channels: list[SampleChannel], base_urls: list[str]) -> Iterator[WorkItem]:
    """Yields (target index, channel, webhook, duplicate, due offset in seconds, seq)."""
    recent: deque[tuple[int, SampleChannel, Webhook]] = deque(maxlen=DUPLICATE_LAG)
    shard_rate = phase.rate / phase.shards if phase.rate else None
    for index, seq in enumerate(phase.seqs()):
        due = index / shard_rate if shard_rate else 0.0
        channel = channels[seq % len(channels)]
        target = seq % len(base_urls)
        # A guest writes three messages to the same channel, a round of channels apart.
        guest = (seq % len(channels)) * 1_000_000 + (seq // len(channels)) // 3
        webhook = build(
            channel, seq=seq, text=text_for(seq), base_url=base_urls[target], guest=guest
        )
        yield target, channel, webhook, False, due, seq
        recent.append((target, channel, webhook))
        if phase.duplicate_every and seq % phase.duplicate_every == phase.duplicate_every - 1:
            old_target, old_channel, old = recent[0]
            again = resign(old_channel, old, base_url=base_urls[old_target])
            yield old_target, old_channel, again, True, due, seq


# Building an SSL context takes milliseconds; plain-HTTP clients share one unused context.
_SSL_CONTEXT = ssl.create_default_context()


def _client(base_url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30.0, verify=_SSL_CONTEXT)


async def _post(client: httpx.AsyncClient, webhook: Webhook) -> tuple[int, int]:
    """Posts until a non-5xx answer or the attempts run out; returns (status, attempts)."""
    status = 0
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            response = await client.post(
                webhook.path, content=webhook.body, headers=webhook.headers
            )
            status = response.status_code
            if status < 500:
                return status, attempt
        except httpx.TransportError:
            status = 0
        await asyncio.sleep(RETRY_BASE_SECONDS * 2**attempt)  # backoff, as providers do
    return status, MAX_ATTEMPTS


async def run(plan: dict[str, Any], progress: Progress) -> tuple[float, float]:
    phase = Phase(**plan["phase"])
    channels = [SampleChannel(**c) for c in plan["channels"]]
    base_urls: list[str] = plan["base_urls"]
    work = _work(phase, channels, base_urls)
    started = time.perf_counter()
    wall_started = time.time()

    async def worker() -> None:
        # One single-connection client per worker and target: httpx's pool scans all of its
        # connections on every request, which costs more than the request at 64 connections.
        clients = [_client(url) for url in base_urls]
        try:
            for target, _channel, webhook, duplicate, due, seq in work:
                delay = due - (time.perf_counter() - started)
                if delay > 0:
                    await asyncio.sleep(delay)  # pacing the offered load
                posted_at = time.time()
                begun = time.perf_counter()
                status, attempts = await _post(clients[target], webhook)
                elapsed = time.perf_counter() - begun
                progress.posted += 1
                if not 200 <= status < 300:
                    progress.failed += 1
                progress.records.append(
                    (
                        webhook.provider_message_id,
                        seq,
                        int(duplicate),
                        posted_at,
                        elapsed,
                        status,
                        attempts,
                    )
                )
        finally:
            for client in clients:
                await client.aclose()

    await asyncio.gather(*(worker() for _ in range(phase.concurrency)))
    return wall_started, time.time()


async def _report(progress: Progress) -> None:
    while True:
        print(json.dumps({"posted": progress.posted, "failed": progress.failed}), flush=True)
        await asyncio.sleep(0.5)


async def _run_reporting(plan: dict[str, Any], progress: Progress) -> tuple[float, float]:
    reporter = asyncio.create_task(_report(progress))
    try:
        return await run(plan, progress)
    finally:
        reporter.cancel()


def main(plan_path: Path, out_path: Path) -> None:
    plan = json.loads(plan_path.read_text())
    progress = Progress()
    started, finished = asyncio.run(_run_reporting(plan, progress))
    with out_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FIELDS)
        writer.writerows(progress.records)
    summary = {
        "done": True,
        "posted": progress.posted,
        "failed": progress.failed,
        "started": started,
        "finished": finished,
    }
    print(json.dumps(summary), flush=True)


def read_records(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["seq"] = int(row["seq"])
        row["duplicate"] = row["duplicate"] == "1"
        row["posted_at"] = float(row["posted_at"])
        row["elapsed"] = float(row["elapsed"])
        row["status"] = int(row["status"])
        row["attempts"] = int(row["attempts"])
    return rows


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
