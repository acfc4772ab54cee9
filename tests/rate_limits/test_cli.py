"""`frontdesk limits`: an operator sees the limits in force and sets a channel's send rate with
the same command as the API route."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx

from domain.events import Provider
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import MakeStaff
from tests.api.test_cli import frontdesk
from tests.conftest import MakeTenant
from workers.settings import Settings


def refused(database: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``frontdesk ARGS`` expecting it to fail."""
    return subprocess.run(
        [sys.executable, "-m", "workers", *args],
        env={**os.environ, "FRONTDESK_DATABASE_URL": database.database_url},
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


async def test_an_operator_sets_a_channels_send_rate_and_sees_the_limits(
    database: Settings, api: httpx.AsyncClient, make_tenant: MakeTenant, make_staff: MakeStaff
) -> None:
    tenant = await make_tenant(
        provider=Provider.TWILIO_SMS, address="+14155550123", inbound_messages_per_minute=7
    )
    tenant_id, channel_id = str(tenant.tenant_id), str(tenant.channel_id)

    [line] = frontdesk(
        database, "limits", "channel", channel_id, "--tenant", tenant_id, "--per-second", "0.5"
    )
    assert "0.5/s (burst 1) [channel]" in line
    shown = frontdesk(database, "limits", "show", "--tenant", tenant_id)

    assert shown[0] == "flood limit: 7 messages a minute per guest identity"
    assert any(channel_id in s and "0.5/s" in s for s in shown[1:])
    admin = await make_staff(tenant.tenant_id, roles=("admin",))
    channel = await api.get(f"/api/v1/channels/{channel_id}", headers=admin.headers)
    assert channel.json()["send_limit"]["per_second"] == 0.5


async def test_a_rate_the_channel_cannot_store_is_refused_and_changes_nothing(
    database: Settings, make_tenant: MakeTenant, uow_factory: UnitOfWorkFactory
) -> None:
    tenant = await make_tenant()
    result = refused(
        database,
        "limits",
        "channel",
        str(tenant.channel_id),
        "--tenant",
        str(tenant.tenant_id),
        "--per-second",
        "0.0005",
    )
    assert result.returncode == 2
    assert "3 decimal places" in result.stderr
    async with uow_factory(tenant.tenant_id) as uow:
        channel = await uow.channels.get(channel_id=tenant.channel_id)
        assert channel is not None
        assert channel.sends_per_second is None
