"""Every provider's ``SPEC``, by provider: what the ingress, the dispatcher, the OpenAPI document
and the webhook URLs are built from. A provider is one module here and one line below."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import httpx

from domain.events import Provider
from workers.providers import email, green_api, telegram, twilio_sms, whatsapp_cloud
from workers.providers.base import Sender
from workers.providers.http import DEFAULT_TIMEOUT, RetryPolicy, SenderSettings
from workers.providers.spec import ProviderSpec

SPECS: Mapping[Provider, ProviderSpec] = MappingProxyType(
    {
        spec.provider: spec
        for spec in (
            green_api.SPEC,
            whatsapp_cloud.SPEC,
            twilio_sms.SPEC,
            telegram.SPEC,
            email.SPEC,
        )
    }
)


def webhook_url(base_url: str, provider: Provider, public_id: object) -> str:
    """Where ``provider`` posts the webhooks of the channel with this public id."""
    return SPECS[provider].webhook_url(base_url, public_id)


def http_client() -> httpx.AsyncClient:
    """The client senders share; the caller closes it with ``aclose()``."""
    return httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False)


def build_senders(
    client: httpx.AsyncClient,
    *,
    policy: RetryPolicy | None = None,
    public_base_url: str | None = None,
    whatsapp_graph_version: str | None = None,
) -> dict[Provider, Sender]:
    """One sender per provider; ``public_base_url``: where providers reach the ingress."""
    settings = SenderSettings(
        policy=policy or RetryPolicy(),
        public_base_url=public_base_url,
        whatsapp_graph_version=whatsapp_graph_version,
    )
    return {provider: spec.sender(client, settings) for provider, spec in SPECS.items()}
