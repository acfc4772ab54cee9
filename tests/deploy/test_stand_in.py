"""The demo channels send through the stand-in wherever it runs (a compose service)."""

from __future__ import annotations

from persistence.demo.tenants import DEMO_TENANTS, at_stand_in
from workers.settings import Settings


def _addresses(credentials: dict[str, str]) -> list[str]:
    return [
        value
        for key, value in credentials.items()
        if key in {"api_url", "api_base_url", "smtp_host", "smtp_port"}
    ]


def test_demo_channels_follow_the_configured_stand_in() -> None:
    moved = at_stand_in(DEMO_TENANTS, url="http://standin:9025/", smtp_port=9026)
    channels = [channel for tenant in moved for channel in tenant.channels]
    addresses = [value for channel in channels for value in _addresses(channel.credentials)]
    assert addresses, "the demo channels name no stand-in address"
    for value in addresses:
        assert "127.0.0.1" not in value
        assert "8025" not in value
        assert "8026" not in value
    green_api = next(c for c in channels if "api_url" in c.credentials)
    assert green_api.credentials["api_url"] == "http://standin:9025/green-api"
    email = next(c for c in channels if "smtp_host" in c.credentials)
    assert (email.credentials["smtp_host"], email.credentials["smtp_port"]) == ("standin", "9026")


def test_default_settings_keep_the_local_stand_in() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    kept = at_stand_in(DEMO_TENANTS, url=settings.standin_url, smtp_port=settings.standin_smtp_port)
    assert kept == DEMO_TENANTS
