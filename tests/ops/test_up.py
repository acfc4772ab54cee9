"""`frontdesk up` as an operator meets it: a second run whose ports are taken, and the webhook
URLs it prints."""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from rich.console import Console

from domain.events import Provider
from tests.conftest import MakeTenant
from tests.ops.test_unreachable_services import frontdesk
from workers.bootstrap import webhook_url
from workers.settings import Settings
from workers.supervisor import print_endpoints


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port another process listens on, as a first `frontdesk up`'s ingress does."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def test_a_second_up_whose_ingress_port_is_taken_stops_at_once_naming_the_port(
    tmp_path: Path, taken_port: int, closed_port: int
) -> None:
    # The database is unreachable too: `up` must stop on the port before it needs anything.
    database = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/frontdesk"
    result = frontdesk(
        tmp_path,
        "up",
        "--no-with-stand-in",
        FRONTDESK_INGRESS_HOST="127.0.0.1",
        FRONTDESK_INGRESS_PORT=str(taken_port),
        FRONTDESK_MIGRATION_DATABASE_URL=database,
        FRONTDESK_DATABASE_URL=database,
    )

    output = (result.stdout + result.stderr).strip().splitlines()
    assert result.returncode != 0, output
    assert output == [
        f"frontdesk: port {taken_port} on 127.0.0.1, for the ingress, is already in use "
        "(is another frontdesk running?)"
    ]


async def test_webhook_urls_are_printed_whole_on_a_narrow_terminal(
    database: Settings, make_tenant: MakeTenant
) -> None:
    base_url = "https://frontdesk-ingress.aurora-hotel-group.example.com:8443/inbound"
    settings = database.model_copy(update={"public_base_url": base_url})
    tenants = [await make_tenant(provider=provider) for provider in Provider]
    output = io.StringIO()
    console = Console(file=output, width=40, force_terminal=False)

    await asyncio.to_thread(print_endpoints, settings, console)

    lines = output.getvalue().splitlines()
    for tenant in tenants:
        url = webhook_url(base_url, tenant.provider, tenant.public_id)
        # The tenant, its provider and the whole URL on one line.
        assert any(line.split() == [tenant.slug, tenant.provider.value, url] for line in lines), (
            lines
        )
