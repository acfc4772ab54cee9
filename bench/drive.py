"""Running the load generator's processes from the benchmark and collecting what they posted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from bench.loadgen import Phase, plan_json, read_records
from bench.processes import BenchError, python_module
from bench.sampler import ProcessSampler
from workers.webhook_samples import SampleChannel


@dataclass
class LoadResult:
    phase: Phase
    records: list[dict[str, Any]]
    started: float
    finished: float

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [r for r in self.records if not 200 <= r["status"] < 300]

    def requests_per_second(self) -> float | None:
        span = self.finished - self.started
        return len(self.records) / span if span > 0 else None


async def post_phase(
    phase: Phase,
    *,
    base_urls: list[str],
    channels: list[SampleChannel],
    work_dir: Path,
    shards: int = 1,
    sampler: ProcessSampler | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> LoadResult:
    """Posts one phase with ``shards`` load generator processes; returns every record."""
    posted = [0] * shards

    async def shard(index: int) -> tuple[list[dict[str, Any]], float, float]:
        part = replace(phase, shard=index, shards=shards)
        plan_path = work_dir / f"plan-{phase.name}-{index}.json"
        out_path = work_dir / f"posted-{phase.name}-{index}.csv"
        plan = plan_json(base_urls=base_urls, channels=channels, phase=part)
        plan_path.write_text(json.dumps(plan))
        process = await asyncio.create_subprocess_exec(
            *python_module("bench.loadgen", str(plan_path), str(out_path)),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        if sampler is not None:
            sampler.track(f"loadgen {phase.name} {index}", process.pid)
        summary: dict[str, Any] = {}
        assert process.stdout is not None
        async for line in process.stdout:
            update = json.loads(line)
            posted[index] = update["posted"]
            if on_progress is not None:
                on_progress(sum(posted))
            if update.get("done"):
                summary = update
        stderr = await process.stderr.read() if process.stderr else b""
        if await process.wait() != 0 or not summary:
            raise BenchError(f"load generator {index} failed:\n{stderr.decode()[-3000:]}")
        return read_records(out_path), summary["started"], summary["finished"]

    parts = await asyncio.gather(*(shard(i) for i in range(shards)))
    records = [record for part, _, _ in parts for record in part]
    return LoadResult(
        phase=phase,
        records=records,
        started=min(p[1] for p in parts),
        finished=max(p[2] for p in parts),
    )
