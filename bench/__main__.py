"""``python -m bench``: measure frontdesk against the local PostgreSQL and RabbitMQ in one run.

Sizes: ``--size small`` (a few hundred messages, under a minute; what CI runs) and
``--size full`` (100,000 messages at saturation after a minute at the fixed rate).
The exit status is 0 when every measured part ran and every message reached its final state.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from rich.console import Console

from bench import report
from bench.real import RealOptions
from bench.run import BenchOptions, run

SIZES = {
    # fixed-rate messages, saturation messages, raw baseline messages, bare-endpoint requests
    # (and as many webhooks for the ingress on its own)
    "small": (150, 350, 2_000, 2_000),
    "full": (18_000, 100_000, 50_000, 30_000),
}


def parse(argv: list[str] | None = None) -> BenchOptions:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--size", choices=SIZES, default="small")
    parser.add_argument("--messages", type=int, help="unique messages at saturation")
    parser.add_argument("--fixed-messages", type=int, help="unique messages at the fixed rate")
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--rate", type=float, default=300.0, help="fixed offered load, msgs/s")
    parser.add_argument("--out", type=Path, help="output folder (default bench/out/<timestamp>)")
    parser.add_argument("--concurrency", type=int, default=64, help="connections per loadgen")
    parser.add_argument("--loadgen-processes", type=int, default=1)
    parser.add_argument("--worker-concurrency", type=int, default=64)
    parser.add_argument(
        "--worker-processes",
        type=int,
        default=1,
        help="`frontdesk worker` processes, each running every consumer",
    )
    parser.add_argument("--raw-messages", type=int)
    parser.add_argument("--ceiling-requests", type=int)
    parser.add_argument("--no-raw", action="store_true", help="skip the raw baseline")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the bare endpoint")
    parser.add_argument(
        "--no-ingress-only",
        action="store_true",
        help="skip the ingress on its own (a sink queue behind it)",
    )
    parser.add_argument("--no-real", action="store_true", help="skip the real system")
    parser.add_argument(
        "--no-decisions",
        action="store_true",
        help="skip the assistant's decision time (in process, the labelled messages)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the frontdesk processes at saturation (profile-*.txt)",
    )
    parser.add_argument("--log-level", default="WARNING", help="the frontdesk processes' level")
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=60.0,
        help="give up when no message moves for this long",
    )
    args = parser.parse_args(argv)
    fixed, saturation, raw, ceiling = SIZES[args.size]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return BenchOptions(
        out_dir=args.out or Path(__file__).parent / "out" / stamp,
        real=RealOptions(
            tenants=args.tenants,
            fixed_messages=fixed if args.fixed_messages is None else args.fixed_messages,
            saturation_messages=args.messages or saturation,
            rate=args.rate,
            concurrency=args.concurrency,
            loadgen_shards=args.loadgen_processes,
            worker_concurrency=args.worker_concurrency,
            worker_processes=args.worker_processes,
            stall_seconds=args.stall_seconds,
            keep=args.keep,
            log_level=args.log_level,
            profile=args.profile,
        ),
        raw_messages=args.raw_messages or raw,
        ceiling_requests=args.ceiling_requests or ceiling,
        ingress_requests=args.ceiling_requests or ceiling,
        run_raw=not args.no_raw,
        run_ceiling=not args.no_ceiling,
        run_ingress_only=not args.no_ingress_only,
        run_real=not args.no_real,
        run_decisions=not args.no_decisions,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    console = Console()
    results = asyncio.run(run(options, console))
    report.print_summary(results, console)
    console.print(f"results: {options.out_dir / 'results.json'}")
    errors = ("real_error", "ingress_only_error", "decisions_error")
    if any(results.get(key) for key in errors):
        return 2
    completeness = (results.get("real") or {}).get("completeness")
    if options.run_real and not (completeness and completeness["complete"]):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
