"""The real-system measurement: a fixed offered load, then saturation, each drained to the end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import collect, sends
from bench.analysis import phase_figures
from bench.drive import LoadResult, post_phase
from bench.loadgen import Phase
from bench.processes import BenchError
from bench.profiling import Profiles
from bench.sampler import ProcessSampler
from bench.system import Deployment, preflight
from workers.webhook_samples import PROVIDERS, SampleChannel


@dataclass(frozen=True)
class RealOptions:
    tenants: int
    fixed_messages: int
    saturation_messages: int
    rate: float
    concurrency: int = 64
    loadgen_shards: int = 1
    worker_concurrency: int = 64
    worker_processes: int = 1
    stall_seconds: float = 60.0
    keep: bool = False
    log_level: str = "WARNING"
    profile: bool = False


@dataclass
class Hooks:
    """Progress callbacks: the phase's posted count, (stored, decided) and (drafted, settled)
    counts."""

    posted: Callable[[str, int], None]
    decided: Callable[[str, int, int], None]
    status: Callable[[str], None]
    sent: Callable[[str, int, int], None] = lambda phase, drafted, settled: None


async def run_real(
    options: RealOptions, *, out_dir: Path, sampler: ProcessSampler, hooks: Hooks
) -> dict[str, Any]:
    preflight()
    from bench.tenants import seed_tenants

    deployment = Deployment(
        out_dir=out_dir,
        log_level=options.log_level,
        worker_concurrency=options.worker_concurrency,
        worker_processes=options.worker_processes,
    )
    owner: asyncpg.Connection | None = None
    tally = sends.StandInTally(deployment.standin_url, limit=sends.stand_in_limit())
    stop_following = asyncio.Event()
    following: asyncio.Task[None] | None = None
    try:
        hooks.status(f"migrating {deployment.database}")
        await deployment.migrate()
        owner = await asyncpg.connect(collect.asyncpg_dsn(deployment.owner_url))
        await collect.check_contract(owner, deployment.schema)
        hooks.status(f"seeding {options.tenants} tenants")
        channels = await seed_tenants(deployment, tenants=options.tenants)
        hooks.status("starting the stand-in, worker, relay, dispatcher and ingress")
        await deployment.start_processes()
        for name, child in deployment.children.items():
            sampler.track(name, child.pid)
        following = asyncio.create_task(tally.follow(stop_following))
        phases = [
            Phase("fixed", 0, options.fixed_messages, options.rate, options.concurrency),
            Phase(
                "saturation",
                options.fixed_messages,
                options.saturation_messages,
                None,
                options.concurrency,
            ),
        ]
        loads: list[LoadResult] = []
        for phase in phases:
            if phase.count == 0:
                continue
            hooks.status(f"{phase.name}: posting")
            expected = sum(len([r for r in x.records if not r["duplicate"]]) for x in loads)
            loads.append(
                await _run_phase(
                    phase,
                    deployment,
                    owner,
                    channels,
                    sampler,
                    hooks,
                    options,
                    expected_before=expected,
                    out_dir=out_dir,
                )
            )
        hooks.status("collecting")
        stop_following.set()
        await following
        metrics = await _scrape(deployment, out_dir)
        stored = await collect.stored_messages(owner, deployment.schema)
        outbound = await sends.outbound_messages(owner, deployment.schema)
        escalations = await collect.escalation_times(owner, deployment.schema)
    finally:
        hooks.status("stopping")
        if following is not None and not following.done():
            following.cancel()
        if owner is not None:
            await owner.close()
        await deployment.stop_processes()
        if not options.keep:
            await deployment.drop()
    by_id = {m.provider_message_id: m for m in stored}
    replies = {o.in_reply_to: o for o in outbound if o.in_reply_to is not None}
    figures = {
        load.phase.name: phase_figures(
            load,
            by_id,
            replies=replies,
            escalations=escalations,
            cpu_seconds=sampler.cpu_between(f"{load.phase.name}-start", f"{load.phase.name}-end"),
            ingress_processes=1,
        )
        | {
            "machine_cpu_percent": sampler.machine_cpu_between(
                f"{load.phase.name}-start", f"{load.phase.name}-end"
            )
        }
        for load in loads
    }
    posted = [record for load in loads for record in load.records]
    return {
        "database": deployment.database if options.keep else None,
        "exchange": deployment.exchange,
        "tenants": options.tenants,
        "channels": len(channels),
        "phases": figures,
        "completeness": collect.completeness(
            posted, stored, sends.sends(stored, outbound, tally, providers=PROVIDERS)
        ),
        "peak_rss_mb": {
            name: sampler.peak_rss.get(name, 0) / 2**20 for name in deployment.children
        },
        "metrics_endpoints": metrics,
    }


async def _run_phase(
    phase: Phase,
    deployment: Deployment,
    owner: asyncpg.Connection,
    channels: list[SampleChannel],
    sampler: ProcessSampler,
    hooks: Hooks,
    options: RealOptions,
    *,
    expected_before: int,
    out_dir: Path,
) -> LoadResult:
    """Posts the phase while watching the database, then waits until every message is decided."""
    profiles = Profiles(out_dir) if options.profile and phase.rate is None else None
    if profiles is not None:
        for name, child in deployment.children.items():
            await profiles.start(name, child.pid)
    sampler.mark(f"{phase.name}-start")
    posting = asyncio.create_task(
        post_phase(
            phase,
            base_urls=[deployment.base_url],
            channels=channels,
            work_dir=out_dir,
            shards=options.loadgen_shards,
            sampler=sampler,
            on_progress=lambda n: hooks.posted(phase.name, n),
        )
    )
    while not posting.done():
        _report(hooks, phase.name, await collect.counts(owner, deployment.schema), expected_before)
        deployment.check_alive()
        await asyncio.wait({posting}, timeout=0.25)  # polling the database while posting
    load = posting.result()
    if load.failed:
        example = load.failed[0]
        raise BenchError(
            f"{phase.name}: the ingress refused {len(load.failed)} webhooks even after retries "
            f"(e.g. HTTP {example['status']} for {example['provider_message_id']}); see "
            f"{out_dir / 'ingress.log'}"
        )
    unique = sum(1 for r in load.records if not r["duplicate"])
    hooks.status(f"{phase.name}: draining")
    await collect.wait_settled(
        owner,
        deployment.schema,
        expected=expected_before + unique,
        stall_seconds=options.stall_seconds,
        on_progress=lambda progress: _report(hooks, phase.name, progress, expected_before),
        alive=deployment.check_alive,
    )
    sampler.mark(f"{phase.name}-end")
    if profiles is not None:
        await profiles.stop()
    return load


def _report(hooks: Hooks, phase: str, progress: collect.Progress, before: int) -> None:
    hooks.decided(phase, progress.stored - before, progress.decided - before)
    hooks.sent(phase, progress.drafted, progress.drafted - progress.unsettled)


async def _scrape(deployment: Deployment, out_dir: Path) -> dict[str, str]:
    """Saves the ingress's and the workers' Prometheus metrics next to the results."""
    urls = {"ingress": f"{deployment.base_url}/metrics"} | {
        name: f"http://127.0.0.1:{port}/metrics"
        for name, port in zip(deployment.workers, deployment.metrics_ports, strict=True)
    }
    saved: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=5.0) as client:
        for name, url in urls.items():
            try:
                response = await client.get(url)
            except httpx.TransportError as exc:
                saved[name] = f"unreachable: {exc!r}"
                continue
            path = out_dir / f"metrics-{name}.txt"
            path.write_text(response.text)
            saved[name] = str(path)
    return saved
