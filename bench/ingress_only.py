"""The ingress on its own: signed webhooks in, confirmed ``inbound.received`` publishes out.

No consumer runs: the events land in a bench-owned queue that keeps only the newest ones
(publishes are mandatory, so they need a queue), and nothing else competes for the CPU. This
isolates what one ingress process answers from what the pipeline behind it costs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.drive import post_phase
from bench.loadgen import Phase
from bench.processes import BenchError
from bench.profiling import Profiles
from bench.real import Hooks, RealOptions
from bench.sampler import ProcessSampler
from bench.stats import percentiles, scaled
from bench.system import Deployment


async def run_ingress_only(
    options: RealOptions,
    *,
    requests: int,
    out_dir: Path,
    sampler: ProcessSampler,
    hooks: Hooks,
) -> dict[str, Any]:
    from bench.tenants import seed_tenants

    deployment = Deployment(
        out_dir=out_dir / "ingress-only",
        log_level=options.log_level,
        consumers=(),
    )
    deployment.out_dir.mkdir(parents=True, exist_ok=True)
    try:
        hooks.status("ingress only: migrating and seeding")
        await deployment.migrate()
        channels = await seed_tenants(deployment, tenants=options.tenants)
        await deployment.start_processes()
        for name, child in deployment.children.items():
            sampler.track(f"ingress-only {name}", child.pid)
        hooks.status("ingress only: posting")
        profiles = Profiles(deployment.out_dir) if options.profile else None
        if profiles is not None:
            await profiles.start("ingress", deployment.children["ingress"].pid)
        sampler.mark("ingress-only-start")
        phase = Phase("ingress-only", 0, requests, None, options.concurrency, duplicate_every=0)
        load = await post_phase(
            phase,
            base_urls=[deployment.base_url],
            channels=channels,
            work_dir=deployment.out_dir,
            shards=options.loadgen_shards,
            sampler=sampler,
            on_progress=lambda n: hooks.posted("ingress only", n),
        )
        sampler.mark("ingress-only-end")
        if profiles is not None:
            await profiles.stop()
        deployment.check_alive()
    finally:
        await deployment.stop_processes()
        await deployment.drop()
    if load.failed:
        raise BenchError(f"ingress only: {len(load.failed)} webhooks refused after retries")
    cpu = sampler.cpu_between("ingress-only-start", "ingress-only-end")
    posted = len(load.records)
    ingress_cpu = cpu.get("ingress-only ingress", 0.0)
    return {
        "requests": posted,
        "requests_per_s": load.requests_per_second(),
        "http_latency_ms": scaled(percentiles(r["elapsed"] for r in load.records), 1000),
        "cpu_seconds": cpu,
        "ingress_cpu_ms_per_request": ingress_cpu * 1000 / posted if posted else None,
        "machine_cpu_percent": sampler.machine_cpu_between(
            "ingress-only-start", "ingress-only-end"
        ),
        "peak_rss_mb": sampler.peak_rss.get("ingress-only ingress", 0) / 2**20,
    }
