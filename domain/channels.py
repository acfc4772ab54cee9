"""What the ingress and the delivery side know about a channel, without a database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from uuid import UUID

from domain.events import Provider

MASK = "***"
# Credential entries that identify an account or an endpoint and authenticate nothing.
PUBLIC_CREDENTIALS = frozenset(
    {
        "api_url",
        "api_base_url",
        "id_instance",
        "phone_number_id",
        "account_sid",
        "from_number",
        "from_address",
        "smtp_host",
        "smtp_port",
        "smtp_tls",
    }
)


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

    def __repr__(self) -> str:
        # Decrypted secrets must not reach a log line or a traceback through a repr: the
        # credential names stay readable, the identifiers that are public stay, values go.
        shown = {f.name: getattr(self, f.name) for f in fields(self)}
        shown["credentials"] = {
            name: value if name in PUBLIC_CREDENTIALS else MASK
            for name, value in self.credentials.items()
        }
        shown["webhook_secret"] = None if self.webhook_secret is None else MASK
        return f"ChannelRoute({', '.join(f'{name}={value!r}' for name, value in shown.items())})"
