"""What a new channel must carry, per provider: the credentials its adapter needs to send, in
the shapes the providers issue them (checked before anything is stored)."""

from __future__ import annotations

import re
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, Field, SecretStr, StringConstraints

from workers.api.schemas import Body, Name

Secret = Annotated[SecretStr, Field(min_length=1, max_length=4096)]
Plain = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Url = Annotated[str, StringConstraints(max_length=500, pattern=r"^https?://[^\s]+$")]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320)]


class GreenApiCredentials(Body):
    id_instance: Annotated[str, StringConstraints(pattern=r"^\d{1,20}$")]
    api_token_instance: Secret
    api_url: Url | None = None


class WhatsAppCloudCredentials(Body):
    phone_number_id: Annotated[str, StringConstraints(pattern=r"^\d{1,30}$")]
    access_token: Secret
    verify_token: Secret
    api_base_url: Url | None = None


class TwilioCredentials(Body):
    account_sid: Annotated[str, StringConstraints(pattern=r"^AC[0-9a-fA-F]{32}$")]
    auth_token: Secret
    from_number: Annotated[str, StringConstraints(pattern=r"^\+[1-9]\d{6,14}$")] | None = None
    api_base_url: Url | None = None


BOT_TOKEN = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{10,100}$")


def _bot_token(token: SecretStr) -> SecretStr:
    if not BOT_TOKEN.match(token.get_secret_value()):
        raise ValueError("a Telegram bot token looks like 123456789:AA…")
    return token


class TelegramCredentials(Body):
    bot_token: Annotated[SecretStr, AfterValidator(_bot_token)]
    api_base_url: Url | None = None


class EmailCredentials(Body):
    from_address: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
    smtp_host: Plain
    smtp_port: Annotated[int, Field(ge=1, le=65_535)] = 587
    smtp_username: Plain | None = None
    smtp_password: Secret | None = None
    smtp_tls: bool = True


class _ChannelBase(Body):
    property_id: UUID
    name: Name
    address: Address
    enabled: bool = True
    staff_alerts: bool = False
    webhook_secret: Secret | None = Field(
        default=None,
        description="What signs the provider's webhooks; generated for Telegram and Green API "
        "when omitted, the auth token for Twilio when omitted; required for WhatsApp Cloud "
        "(the app secret) and e-mail (the Mailgun signing key).",
    )


class GreenApiChannel(_ChannelBase):
    provider: Literal["green_api"]
    credentials: GreenApiCredentials


class WhatsAppCloudChannel(_ChannelBase):
    provider: Literal["whatsapp_cloud"]
    credentials: WhatsAppCloudCredentials


class TwilioChannel(_ChannelBase):
    provider: Literal["twilio_sms"]
    credentials: TwilioCredentials


class TelegramChannel(_ChannelBase):
    provider: Literal["telegram"]
    credentials: TelegramCredentials


class EmailChannel(_ChannelBase):
    provider: Literal["email"]
    credentials: EmailCredentials


ChannelCreate = Annotated[
    GreenApiChannel | WhatsAppCloudChannel | TwilioChannel | TelegramChannel | EmailChannel,
    Field(discriminator="provider"),
]
