"""The bare-endpoint ceiling, measured with the same load generator as the ingress."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.drive import post_phase
from bench.loadgen import Phase
from bench.processes import free_port, python_module, start, stop, wait_http
from bench.sampler import ProcessSampler
from bench.stats import percentiles, scaled
from workers.webhook_samples import PROVIDERS, SampleChannel


def stand_in_channels(count: int = 50) -> list[SampleChannel]:
    """Channels of every provider that only the bare endpoint will see."""
    return [
        SampleChannel(
            tenant=index // len(PROVIDERS),
            provider=PROVIDERS[index % len(PROVIDERS)],
            public_id=str(uuid.uuid4()),
            webhook_secret=f"bare-secret-{index}",
            address=f"+4420700{index:05d}" if index % 5 != 4 else f"desk{index}@hotel.example",
            provider_account=str(1_101_000_000 + index),
        )
        for index in range(count)
    ]


async def measure_ceiling(
    *,
    requests: int,
    concurrency: int,
    shards: int,
    out_dir: Path,
    sampler: ProcessSampler,
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    port = free_port()
    child = await start("bare-endpoint", python_module("bench.bare", str(port)), log_dir=out_dir)
    try:
        base_url = f"http://127.0.0.1:{port}"
        await wait_http(child, f"{base_url}/healthz")
        sampler.track("bare-endpoint", child.pid)
        sampler.mark("ceiling-start")
        phase = Phase(
            "ceiling",
            first_seq=0,
            count=requests,
            rate=None,
            concurrency=concurrency,
            duplicate_every=0,
        )
        result = await post_phase(
            phase,
            base_urls=[base_url],
            channels=stand_in_channels(),
            work_dir=out_dir,
            shards=shards,
            sampler=sampler,
            on_progress=on_progress,
        )
        sampler.mark("ceiling-end")
    finally:
        await stop(child)
    cpu = sampler.cpu_between("ceiling-start", "ceiling-end")
    return {
        "requests": len(result.records),
        "failed": len(result.failed),
        "seconds": result.finished - result.started,
        "requests_per_s": result.requests_per_second(),
        "http_latency_ms": scaled(percentiles(r["elapsed"] for r in result.records), 1000),
        "server_cpu_seconds": cpu.get("bare-endpoint"),
        "server_cpu_ms_per_request": (cpu.get("bare-endpoint") or 0) * 1000 / max(1, requests),
        "loadgen_cpu_seconds": sum(v for k, v in cpu.items() if k.startswith("loadgen")),
    }
