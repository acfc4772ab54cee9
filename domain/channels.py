"""What the ingress and the delivery side know about a channel, without a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from domain.events import Provider


@dataclass(frozen=True, slots=True)
class ChannelRoute:
    """A channel resolved from the public id in its webhook URL, secrets decrypted.

    ``credentials`` keys by provider:
    - green_api: api_url, id_instance, api_token_instance
    - whatsapp_cloud: phone_number_id, access_token, verify_token, api_base_url
    - twilio_sms: account_sid, auth_token, from_number, api_base_url
    - telegram: bot_token, api_base_url
    - email: from_address, smtp_host, smtp_port, smtp_username, smtp_password, smtp_tls
    ``webhook_secret`` is what signs inbound webhooks: the Green API webhookUrlToken, the Meta
    app secret, the Twilio auth token, the Telegram secret_token, the Mailgun signing key.
    """

    channel_id: UUID
    public_id: UUID
    tenant_id: UUID
    property_id: UUID
    provider: Provider
    enabled: bool
    address: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    webhook_secret: str | None = None
