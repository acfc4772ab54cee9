"""One benchmark run: decision time, raw baseline, bare ceiling, the real system; then results,
chart, table."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from bench import chart, report
from bench.ceiling import measure_ceiling
from bench.decisions import measure_decisions
from bench.ingress_only import run_ingress_only
from bench.processes import BenchError, python_module
from bench.real import Hooks, RealOptions, run_real
from bench.sampler import ProcessSampler
from workers.settings import Settings

# The raw stages run in two processes: one per core of the machine the targets are set for.
RAW_PROCESSES = 2


@dataclass(frozen=True)
class BenchOptions:
    out_dir: Path
    real: RealOptions
    raw_messages: int
    ceiling_requests: int
    ingress_requests: int = 0
    run_raw: bool = True
    run_ceiling: bool = True
    run_ingress_only: bool = True
    run_real: bool = True
    run_decisions: bool = True


class Bars:
    """The rich progress bars, one per thing being counted, created on first use."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def update(self, key: str, done: int, total: int | None = None) -> None:
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=total)
        self.progress.update(self.tasks[key], completed=done, total=total)

    def status(self, text: str) -> None:
        self.update("status", 0)
        self.progress.update(self.tasks["status"], description=f"[cyan]{text}")


async def _raw(messages: int, out_dir: Path, bars: Bars, sampler: ProcessSampler) -> dict[str, Any]:
    out = out_dir / "raw.json"
    process = await asyncio.create_subprocess_exec(
        *python_module("bench.raw", str(messages), str(out), str(RAW_PROCESSES)),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    sampler.track("raw", process.pid)
    sampler.mark("raw-start")
    assert process.stdout is not None
    assert process.stderr is not None
    async for line in process.stdout:
        update = json.loads(line)
        for number, pid in enumerate(update.get("pids", []), start=1):
            sampler.track(f"raw-{number}", pid)
        bars.update("raw baseline", update["done"], messages)
    stderr = await process.stderr.read()
    if await process.wait() != 0:
        raise BenchError(f"raw baseline failed:\n{stderr.decode()[-3000:]}")
    sampler.mark("raw-end")
    bars.update("raw baseline", messages, messages)
    result: dict[str, Any] = json.loads(out.read_text())
    cpu = sampler.cpu_between("raw-start", "raw-end")
    result["cpu_seconds_per_1000_msgs"] = {
        name: seconds * 1000 / messages for name, seconds in cpu.items() if seconds
    }
    result["peak_rss_mb"] = {
        name: rss / 2**20 for name, rss in sampler.peak_rss.items() if name.startswith("raw")
    }
    return result


def _hooks(bars: Bars, options: RealOptions) -> Hooks:
    totals = {"fixed": options.fixed_messages, "saturation": options.saturation_messages}
    return Hooks(
        posted=lambda phase, n: bars.update(f"{phase}: webhooks posted", n),
        decided=lambda phase, stored, decided: bars.update(
            f"{phase}: messages decided", decided, totals[phase]
        ),
        status=bars.status,
        sent=lambda phase, drafted, settled: bars.update("replies sent", settled, drafted),
    )


async def run(options: BenchOptions, console: Console) -> dict[str, Any]:
    options.out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(),
        },
        "options": asdict(options.real)
        | {
            "raw_messages": options.raw_messages,
            "ceiling_requests": options.ceiling_requests,
            "ingress_requests": options.ingress_requests,
        },
    }
    sampler = ProcessSampler()
    sampling = asyncio.create_task(sampler.run())
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console, transient=False) as progress:
            bars = Bars(progress)
            if options.run_decisions:
                # In process and first, while nothing else of the benchmark runs: it blocks the
                # event loop, which has nothing else to do yet.
                bars.status("decision time")
                try:
                    results["decisions"] = measure_decisions(
                        on_progress=lambda done, total: bars.update(
                            "messages decided", done, total
                        ),
                        # With the threads the bench's workers embed with (the same settings).
                        threads=Settings().embed_threads,
                    )
                except BenchError as exc:
                    results["decisions_error"] = str(exc)
            if options.run_raw:
                bars.status("raw baseline")
                results["raw"] = await _raw(options.raw_messages, options.out_dir, bars, sampler)
            if options.run_ceiling:
                bars.status("bare-endpoint ceiling")
                results["ceiling"] = await measure_ceiling(
                    requests=options.ceiling_requests,
                    concurrency=options.real.concurrency,
                    shards=options.real.loadgen_shards,
                    out_dir=options.out_dir,
                    sampler=sampler,
                    on_progress=lambda n: bars.update(
                        "bare endpoint requests", n, options.ceiling_requests
                    ),
                )
            if options.run_ingress_only:
                try:
                    results["ingress_only"] = await run_ingress_only(
                        options.real,
                        requests=options.ingress_requests,
                        out_dir=options.out_dir,
                        sampler=sampler,
                        hooks=_hooks(bars, options.real),
                    )
                except BenchError as exc:
                    results["ingress_only_error"] = str(exc)
            if options.run_real:
                try:
                    results["real"] = await run_real(
                        options.real,
                        out_dir=options.out_dir,
                        sampler=sampler,
                        hooks=_hooks(bars, options.real),
                    )
                except BenchError as exc:
                    results["real_error"] = str(exc)
            bars.status("done")
    finally:
        sampling.cancel()
    results["targets"] = report.targets(results)
    report.write(results, options.out_dir)
    chart.draw(results, options.out_dir / "chart.png")
    return results
