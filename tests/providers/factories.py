"""Small builders for channel routes in provider and ingress tests."""

from __future__ import annotations

from uuid import uuid4

from domain.channels import ChannelRoute
from domain.events import Provider

SECRETS = {
    Provider.GREEN_API: "green-webhook-token",
    Provider.WHATSAPP_CLOUD: "meta-app-secret",
    Provider.TWILIO_SMS: "twilio-auth-token",
    Provider.TELEGRAM: "telegram-secret-token",
    Provider.EMAIL: "mailgun-signing-key",
}

CREDENTIALS = {
    Provider.GREEN_API: {"id_instance": "1234", "api_token_instance": "green-api-token"},
    Provider.WHATSAPP_CLOUD: {
        "phone_number_id": "106540352242922",
        "access_token": "meta-access-token",
        "verify_token": "meta-verify-token",
    },
    Provider.TWILIO_SMS: {
        "account_sid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "auth_token": "twilio-auth-token",
        "from_number": "+14155552671",
    },
    Provider.TELEGRAM: {"bot_token": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"},
    Provider.EMAIL: {"from_address": "frontdesk@hotel.example", "smtp_host": "127.0.0.1"},
}


def make_route(provider: Provider, *, enabled: bool = True, **credentials: str) -> ChannelRoute:
    return ChannelRoute(
        channel_id=uuid4(),
        public_id=uuid4(),
        tenant_id=uuid4(),
        property_id=uuid4(),
        provider=provider,
        enabled=enabled,
        address="+14155552671",
        credentials={**CREDENTIALS[provider], **credentials},
        webhook_secret=SECRETS[provider],
    )
