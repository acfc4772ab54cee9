"""The real system, run the way ops run it, against a database and exchange of its own.

``frontdesk migrate`` prepares a fresh database, the bench tenants are seeded through the
persistence layer, then the provider stand-in (``python -m workers.standin``, as ``frontdesk up``
runs it, on ports of its own), ``frontdesk worker``, ``frontdesk relay``, ``frontdesk
dispatcher`` and ``frontdesk ingress`` run as separate OS processes while the load generator
posts signed webhooks; the tenants' channels send their replies to the stand-in. Everything the
run creates (database, exchange, queues) is removed at the end unless asked to keep it.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aio_pika
import asyncpg

from bench.processes import (
    BenchError,
    Child,
    free_port,
    python_module,
    start,
    stop,
    wait_http,
)

CONSUMERS = ("intake", "sentiment", "autoreply", "escalation")
# What the real-system run starts or imports; named in the error when one is missing.
REQUIRED_MODULES = (
    "persistence.migrate",
    "persistence.uow",
    "workers.ingress.server",
    "workers.runtime.registry",
    "workers.runtime.relay",
    "workers.dispatch.main",
    "workers.standin",
    *(f"workers.consumers.{name}" for name in CONSUMERS),
)
STAND_IN = "provider-stand-in"
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def preflight() -> None:
    """Fails with the names of the frontdesk modules the run needs and cannot find."""
    missing = [name for name in REQUIRED_MODULES if not _exists(name)]
    if missing:
        raise BenchError(
            "the real-system run needs these frontdesk modules, which are missing: "
            + ", ".join(missing)
        )
    from workers.runtime.registry import CONSUMERS as REGISTERED

    unregistered = [name for name in CONSUMERS if name not in REGISTERED]
    if unregistered:
        raise BenchError(
            "`frontdesk worker` does not know these consumers yet (workers.runtime.registry): "
            + ", ".join(unregistered)
        )


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


@dataclass
class Deployment:
    """One throw-away frontdesk: its names, its environment and its processes."""

    out_dir: Path
    log_level: str = "WARNING"
    worker_concurrency: int = 64
    worker_processes: int = 1
    consumers: tuple[str, ...] = CONSUMERS
    extra_env: dict[str, str] = field(default_factory=dict)
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    ingress_port: int = field(default_factory=free_port)
    standin_port: int = field(default_factory=free_port)
    standin_smtp_port: int = field(default_factory=free_port)
    metrics_ports: list[int] = field(default_factory=list)
    children: dict[str, Child] = field(default_factory=dict)

    @property
    def database(self) -> str:
        return f"frontdesk_bench_{self.tag}"

    @property
    def exchange(self) -> str:
        return f"frontdesk.bench.{self.tag}"

    @property
    def schema(self) -> str:
        return "frontdesk"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def standin_url(self) -> str:
        """Where the bench tenants' channels send: the provider stand-in's HTTP side."""
        return f"http://127.0.0.1:{self.standin_port}"

    @property
    def owner_url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:5432/{self.database}"

    @property
    def app_url(self) -> str:
        return f"postgresql+asyncpg://frontdesk_app@127.0.0.1:5432/{self.database}"

    def env(self) -> dict[str, str]:
        return {
            "FRONTDESK_DATABASE_URL": self.app_url,
            "FRONTDESK_MIGRATION_DATABASE_URL": self.owner_url,
            "FRONTDESK_DB_SCHEMA": self.schema,
            "FRONTDESK_AMQP_URL": AMQP_URL,
            "FRONTDESK_EXCHANGE": self.exchange,
            "FRONTDESK_PUBLIC_BASE_URL": self.base_url,
            "FRONTDESK_INGRESS_HOST": "127.0.0.1",
            "FRONTDESK_INGRESS_PORT": str(self.ingress_port),
            "FRONTDESK_LOG_LEVEL": self.log_level,
            "FRONTDESK_LOG_JSON": "true",
            **self.extra_env,
        }

    async def migrate(self) -> None:
        process = await asyncio.create_subprocess_exec(
            *python_module("workers", "migrate"),
            env={**os.environ, **self.env()},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise BenchError(f"frontdesk migrate failed:\n{output.decode()[-3000:]}")

    async def start_processes(self) -> None:
        """The stand-in, the worker (it declares the queues the ingress publishes to), relay and
        dispatcher, then the ingress.

        Without consumers, a bench-owned sink queue takes the ingress's events instead.
        """
        env = self.env()
        if not self.consumers:
            await self._declare_sink()
        else:
            await self._start_stand_in()
            await self._start_worker(env)
            self.children["dispatcher"] = await start(
                "dispatcher", python_module("workers", "dispatcher"), log_dir=self.out_dir, env=env
            )
        self.children["ingress"] = await start(
            "ingress", python_module("workers", "ingress"), log_dir=self.out_dir, env=env
        )
        await wait_http(self.children["ingress"], f"{self.base_url}/readyz", within=60)

    async def _start_stand_in(self) -> None:
        argv = python_module(
            "workers.standin",
            "--port",
            str(self.standin_port),
            "--smtp-port",
            str(self.standin_smtp_port),
        )
        self.children[STAND_IN] = await start(STAND_IN, argv, log_dir=self.out_dir)
        await wait_http(self.children[STAND_IN], f"{self.standin_url}/sent", within=60)

    @property
    def sink(self) -> str:
        return f"{self.exchange}.bench-sink"

    async def _declare_sink(self) -> None:
        """A queue for ``inbound.received`` that keeps only the newest events (drop-head)."""
        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel()
            exchange = await channel.declare_exchange(
                self.exchange, aio_pika.ExchangeType.TOPIC, durable=True
            )
            queue = await channel.declare_queue(
                self.sink, durable=True, arguments={"x-max-length": 10_000}
            )
            await queue.bind(exchange, "inbound.received")
        finally:
            await connection.close()

    @property
    def workers(self) -> list[str]:
        """The worker processes' names: ``worker``, then ``worker-2``, ``worker-3`` …"""
        return ["worker" if n == 1 else f"worker-{n}" for n in range(1, self.worker_processes + 1)]

    async def _start_worker(self, env: dict[str, str]) -> None:
        """Every worker process runs every consumer: ops scale by starting more of them."""
        for name in self.workers:
            port = free_port()
            self.metrics_ports.append(port)
            worker_argv = python_module(
                "workers",
                "worker",
                *self.consumers,
                "--concurrency",
                str(self.worker_concurrency),
                "--metrics-port",
                str(port),
            )
            self.children[name] = await start(name, worker_argv, log_dir=self.out_dir, env=env)
            await self._wait_queues(self.children[name])
        self.children["relay"] = await start(
            "relay", python_module("workers", "relay"), log_dir=self.out_dir, env=env
        )

    async def _wait_queues(self, worker: Child, within: float = 60.0) -> None:
        """Waits until every consumer's queue exists, i.e. the worker declared its topology."""
        deadline = asyncio.get_running_loop().time() + within
        connection = await aio_pika.connect(AMQP_URL)
        try:
            for consumer in self.consumers:
                while True:
                    worker.check_alive()
                    channel = await connection.channel()
                    try:
                        await channel.declare_queue(f"{self.exchange}.{consumer}", passive=True)
                        break
                    except aio_pika.exceptions.ChannelClosed:
                        pass
                    finally:
                        if not channel.is_closed:
                            await channel.close()
                    if asyncio.get_running_loop().time() > deadline:
                        raise BenchError(f"the worker declared no queue for {consumer}")
                    await asyncio.sleep(0.2)  # polling a starting worker
        finally:
            await connection.close()

    def check_alive(self) -> None:
        for child in self.children.values():
            child.check_alive()

    async def stop_processes(self) -> None:
        for name in ("ingress", "relay", *self.workers, "dispatcher", STAND_IN):
            if name in self.children:
                await stop(self.children[name])

    async def drop(self) -> None:
        """Deletes the run's queues, exchange and database."""
        connection = await aio_pika.connect(AMQP_URL)
        try:
            channel = await connection.channel()
            for consumer in self.consumers:
                main = f"{self.exchange}.{consumer}"
                tiers = (f"{main}.backoff.{t}" for t in _TIERS)
                for name in (main, f"{main}.dead", f"{main}.retried", *tiers):
                    await channel.queue_delete(name)
            await channel.queue_delete(self.sink)
            await channel.exchange_delete(self.exchange)
        finally:
            await connection.close()
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        finally:
            await admin.close()


def _tiers() -> tuple[str, ...]:
    try:
        from workers.runtime.topology import DEFAULT_RETRY_DELAYS, tier_label
    except ImportError:
        return ("1s", "10s", "60s")
    return tuple(tier_label(delay) for delay in DEFAULT_RETRY_DELAYS)


_TIERS = _tiers()
