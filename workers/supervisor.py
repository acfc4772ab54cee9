"""`frontdesk up`: one command that brings a whole frontdesk up on one machine.

It checks that the ports its processes listen on are free (a second `frontdesk up` stops there,
naming the port), applies the migrations, seeds the demo tenants into an empty database, then
runs the ingress, every consumer, the outbox relay, the dispatcher (and the provider stand-in for
the demo channels) as child processes, restarting any that dies until it is told to stop.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

from rich.console import Console

from workers.reachability import ensure_ports_free, reaching
from workers.settings import Settings

CONSUMERS = (
    "intake",
    "sentiment",
    "autoreply",
    "escalation",
    "planner",
    "composer",
    "router",
    "triggers",
    "documents",
    "reservations",
)
METRICS_HOST, METRICS_PORT = "0.0.0.0", 9100  # noqa: S104 - scraped from outside the host
STAND_IN_HOST, STAND_IN_PORT, STAND_IN_SMTP_PORT = "127.0.0.1", 8025, 8026
RESTART_BACKOFF_SECONDS = 2.0
STOP_GRACE_SECONDS = 15.0


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    started_at: float = field(default=0.0)

    def start(self) -> None:
        self.process = subprocess.Popen(self.argv)  # noqa: S603 - our own interpreter and module
        self.started_at = time.monotonic()


def _frontdesk(*args: str) -> list[str]:
    return [sys.executable, "-m", "workers", *args]


def children(*, with_stand_in: bool) -> list[Child]:
    processes = [
        Child("ingress", _frontdesk("ingress")),
        Child("api", _frontdesk("api")),
        Child("consumers", _frontdesk("worker", *CONSUMERS, "--metrics-port", str(METRICS_PORT))),
        Child("relay", _frontdesk("relay")),
        Child("dispatcher", _frontdesk("dispatcher")),
        Child("scheduler", _frontdesk("scheduler")),
    ]
    if with_stand_in:
        processes.append(Child("provider-stand-in", [sys.executable, "-m", "workers.standin"]))
    return processes


def listening_ports(settings: Settings, *, with_stand_in: bool) -> list[tuple[str, str, int]]:
    """``(process, host, port)`` for every port the children listen on."""
    ports = [
        ("ingress", settings.ingress_host, settings.ingress_port),
        ("management API", settings.api_host, settings.api_port),
        ("consumers' metrics", METRICS_HOST, METRICS_PORT),
    ]
    if with_stand_in:
        ports += [
            ("provider stand-in", STAND_IN_HOST, STAND_IN_PORT),
            ("provider stand-in's SMTP", STAND_IN_HOST, STAND_IN_SMTP_PORT),
        ]
    return ports


def prepare(settings: Settings, console: Console) -> None:
    """Migrate, and seed the demo tenants when the database has no tenant yet."""
    from persistence.migrate import create_database_if_missing, upgrade
    from workers.bootstrap import count_tenants, seed_demo
    from workers.runtime.registry import build_consumers
    from workers.runtime.topology import declare_for

    with reaching("PostgreSQL", settings.migration_database_url):
        create_database_if_missing(settings.migration_database_url)
        upgrade(settings, "head")
    console.print("[green]✓[/] migrations applied")
    # The consumers' queues exist and are bound before the ingress takes its first webhook.
    consumers = build_consumers(list(CONSUMERS), settings)
    queues = [consumer.queues(settings.exchange) for consumer in consumers]
    with reaching("RabbitMQ", settings.amqp_url):
        asyncio.run(declare_for(settings.amqp_url, settings.exchange, queues))
    console.print("[green]✓[/] broker topology declared")
    with reaching("PostgreSQL", settings.migration_database_url):
        empty = asyncio.run(count_tenants(settings)) == 0
    if empty:
        with reaching("PostgreSQL", settings.database_url):
            report = asyncio.run(seed_demo(settings))
        console.print(f"[green]✓[/] demo tenants seeded: {report}")


def print_endpoints(settings: Settings, console: Console) -> None:
    from workers.admin_cli import management_api_lines
    from workers.bootstrap import webhook_urls

    with reaching("PostgreSQL", settings.migration_database_url):
        rows = asyncio.run(webhook_urls(settings))
    console.print("[bold]Post provider webhooks here[/]")
    widths = [max((len(row[column]) for row in rows), default=0) for column in (0, 1)]
    for tenant, provider, url in rows:
        # One unwrapped line per URL whatever the terminal's width: URLs are copied whole.
        line = f"  {tenant:<{widths[0]}}  {provider:<{widths[1]}}  {url}"
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    for line in management_api_lines(settings, {row[0] for row in rows}):
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    console.print(
        "Try [bold]frontdesk demo[/] in another terminal to post signed samples; "
        "Ctrl-C stops everything."
    )


def up(settings: Settings, *, with_stand_in: bool = True) -> None:
    console = Console()
    ensure_ports_free(listening_ports(settings, with_stand_in=with_stand_in))
    prepare(settings, console)
    print_endpoints(settings, console)

    stopping = False

    def request_stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    running = children(with_stand_in=with_stand_in)
    for child in running:
        child.start()
        console.print(f"[green]✓[/] started {child.name} (pid {child.process.pid})")  # type: ignore[union-attr]
    while not stopping:
        time.sleep(0.5)
        for child in running:
            assert child.process is not None
            code = child.process.poll()
            if code is None or stopping:
                continue
            console.print(f"[red]✗[/] {child.name} exited with {code}; restarting")
            if time.monotonic() - child.started_at < RESTART_BACKOFF_SECONDS:
                time.sleep(RESTART_BACKOFF_SECONDS)
            child.restarts += 1
            child.start()
    shutdown(running, console)


def shutdown(running: list[Child], console: Console) -> None:
    """SIGTERM every child (they finish in-flight work), then SIGKILL what outlives the grace."""
    for child in running:
        if child.process is not None and child.process.poll() is None:
            child.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in running:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.process.kill()
            child.process.wait()
        console.print(f"stopped {child.name}")
