"""`frontdesk` commands whose database or broker is down print one line naming it and exit
non-zero, as an operator runs them: a separate process, settings from the environment."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from workers.reachability import EXIT_UNAVAILABLE

PASSWORD = "operator-password-7"


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nothing listens on (held, so nothing else takes it meanwhile)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def frontdesk(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("FRONTDESK_")
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        cwd=tmp_path,  # no .env file
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "variable", "url", "service"),
    [
        (
            ("status",),
            "FRONTDESK_AMQP_URL",
            "amqp://guest:{password}@127.0.0.1:{port}/",
            "RabbitMQ",
        ),
        (
            ("dlq", "list"),
            "FRONTDESK_AMQP_URL",
            "amqp://guest:{password}@127.0.0.1:{port}/",
            "RabbitMQ",
        ),
        (
            ("migrate",),
            "FRONTDESK_MIGRATION_DATABASE_URL",
            "postgresql+asyncpg://postgres:{password}@127.0.0.1:{port}/frontdesk",
            "PostgreSQL",
        ),
        (
            ("seed", "--demo"),
            "FRONTDESK_DATABASE_URL",
            "postgresql+asyncpg://frontdesk_app:{password}@127.0.0.1:{port}/frontdesk",
            "PostgreSQL",
        ),
    ],
    ids=["status", "dlq-list", "migrate", "seed"],
)
def test_an_unreachable_service_is_one_line_naming_it(
    tmp_path: Path, closed_port: int, args: tuple[str, ...], variable: str, url: str, service: str
) -> None:
    result = frontdesk(
        tmp_path, *args, **{variable: url.format(password=PASSWORD, port=closed_port)}
    )

    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode == EXIT_UNAVAILABLE, output
    assert output == [
        f"frontdesk: cannot connect to {service} at 127.0.0.1:{closed_port}: connection refused"
    ]
    assert PASSWORD not in result.stdout + result.stderr
