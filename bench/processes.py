"""Starting, watching and stopping the benchmark's child processes."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

STOP_GRACE_SECONDS = 15.0


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says what is missing or what failed."""


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path
    log: IO[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if self.process.returncode is not None:
            raise BenchError(
                f"{self.name} exited with {self.process.returncode}; its log ends with:\n"
                f"{self.tail()}"
            )


def python_module(*args: str) -> list[str]:
    """Our own interpreter (the virtualenv's when run from it) running a module."""
    return [sys.executable, "-m", *args]


async def start(
    name: str, argv: list[str], *, log_dir: Path, env: dict[str, str] | None = None
) -> Child:
    log_path = log_dir / f"{name}.log"
    log = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    return Child(name, process, log_path, log)


async def stop(child: Child) -> None:
    """SIGTERM (a consumer finishes what it holds), then SIGKILL after the grace period."""
    if child.process.returncode is None:
        child.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(child.process.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            child.process.kill()
            await child.process.wait()
    child.log.close()


async def wait_http(child: Child, url: str, *, within: float = 60.0) -> None:
    """Waits until ``url`` answers 200, failing early if the child dies."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2.0) as client:
        while True:
            child.check_alive()
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise BenchError(f"{child.name} did not answer 200 at {url} within {within:.0f}s")
            await asyncio.sleep(0.2)  # polling a starting server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
