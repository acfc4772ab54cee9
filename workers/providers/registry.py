"""One sender per provider, sharing one HTTP client."""

from __future__ import annotations

import httpx

from domain.events import Provider
from workers.providers.base import Sender
from workers.providers.email import EmailSender
from workers.providers.green_api import GreenApiSender
from workers.providers.http import DEFAULT_TIMEOUT, RetryPolicy
from workers.providers.telegram import TelegramSender
from workers.providers.twilio_sms import TwilioSmsSender
from workers.providers.whatsapp_cloud import DEFAULT_GRAPH_VERSION, WhatsAppCloudSender


def http_client() -> httpx.AsyncClient:
    """The client senders share; the caller closes it with ``aclose()``."""
    return httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, follow_redirects=False)


def build_senders(
    client: httpx.AsyncClient,
    *,
    policy: RetryPolicy | None = None,
    public_base_url: str | None = None,
    whatsapp_graph_version: str = DEFAULT_GRAPH_VERSION,
) -> dict[Provider, Sender]:
    """``public_base_url``: where providers reach the ingress (Twilio's status callbacks)."""
    return {
        Provider.GREEN_API: GreenApiSender(client, policy=policy),
        Provider.WHATSAPP_CLOUD: WhatsAppCloudSender(
            client, policy=policy, graph_version=whatsapp_graph_version
        ),
        Provider.TWILIO_SMS: TwilioSmsSender(
            client, policy=policy, public_base_url=public_base_url
        ),
        Provider.TELEGRAM: TelegramSender(client, policy=policy),
        Provider.EMAIL: EmailSender(),
    }
