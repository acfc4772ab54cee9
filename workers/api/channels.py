"""Channels (``channels.manage``): provider accounts of a property. Credentials are checked per
provider and stored encrypted; no answer ever carries them, only a masked hint of each. A
webhook secret frontdesk generates (Telegram, Green API) is shown once, when it is made."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import Field, SecretStr

from domain.events import Provider
from domain.rate_limits import send_limits
from persistence.models import Channel
from workers.api.channel_credentials import ChannelCreate, Secret
from workers.api.problems import invalid, not_found
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require
from workers.providers.registry import webhook_url

router = APIRouter(prefix="/channels", tags=["channels"])
Manage = Annotated[Context, Depends(require("channels.manage"))]
# Providers whose webhook secret frontdesk chooses (and tells the provider); the others issue it.
GENERATED_SECRETS = frozenset({Provider.TELEGRAM, Provider.GREEN_API})


class ChannelUpdate(Body):
    name: Name | None = None
    enabled: bool | None = None
    staff_alerts: bool | None = None


class SecretRotation(Body):
    webhook_secret: Secret | None = Field(
        default=None, description="The provider's new secret; omit to have one generated."
    )


class SendLimitOut(Out):
    """The limits the dispatcher keeps this channel's sends to (read-only here; set the
    channel's own rate with ``PUT /channels/{id}/send-limit``)."""

    per_second: float | None = Field(
        description="Sends a second from this channel (null: frontdesk does not limit them)."
    )
    burst: int | None = Field(description="Sends that may go at once after a quiet spell.")
    per_chat_per_second: float | None = Field(
        description="Sends a second to one guest chat (null: not limited per chat)."
    )
    source: str = Field(
        description="provider: the provider's documented limit; channel: the channel's own rate."
    )


def send_limit_out(row: Channel) -> SendLimitOut:
    own = None if row.sends_per_second is None else float(row.sends_per_second)
    limits = send_limits(row.provider, own)
    channel, chat = limits.channel, limits.chat
    return SendLimitOut(
        per_second=channel.per_second if channel else None,
        burst=int(channel.capacity) if channel else None,
        per_chat_per_second=chat.per_second if chat else None,
        source=limits.source,
    )


class ChannelOut(Out):
    id: UUID
    property_id: UUID
    provider: str
    name: str
    address: str
    enabled: bool
    staff_alerts: bool
    public_id: UUID
    webhook_url: str
    has_webhook_secret: bool
    credentials_hint: dict[str, str] = Field(
        description="Which credentials are set, each masked to its last characters at most."
    )
    webhook_status: str | None = Field(
        description="The last check at the provider: ok, failing or unreachable (null: never)."
    )
    webhook_error: str | None
    webhook_last_checked_at: datetime | None
    send_limit: SendLimitOut
    created_at: datetime
    updated_at: datetime


class ChannelCreated(ChannelOut):
    webhook_secret: str | None = Field(
        default=None, description="The generated webhook secret: shown here once."
    )


class SecretRotated(Body):
    channel: ChannelOut
    webhook_secret: str | None = Field(
        default=None, description="The generated webhook secret: shown here once."
    )


def hint(value: str) -> str:
    """Enough to recognise a long value, nothing of a short one."""
    return f"…{value[-4:]}" if len(value) >= 16 else "set"


def _plain(credentials: Body) -> dict[str, str]:
    values = {}
    for name, value in credentials.model_dump().items():
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        values[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return values


async def channel_out(context: Context, row: Channel) -> ChannelOut:
    route = await context.uow.channels.route(channel_id=row.id)
    credentials = dict(route.credentials) if route is not None else {}
    base_url = context.services.settings.public_base_url
    return ChannelOut(
        id=row.id,
        property_id=row.property_id,
        provider=row.provider,
        name=row.name,
        address=row.address,
        enabled=row.enabled,
        staff_alerts=row.staff_alerts,
        public_id=row.public_id,
        webhook_url=webhook_url(base_url, Provider(row.provider), row.public_id),
        has_webhook_secret=row.webhook_secret_encrypted is not None,
        credentials_hint={name: hint(value) for name, value in sorted(credentials.items())},
        webhook_status=row.webhook_status,
        webhook_error=row.webhook_error,
        webhook_last_checked_at=row.webhook_last_checked_at,
        send_limit=send_limit_out(row),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _audited(row: Channel) -> dict[str, object]:
    return {
        "provider": row.provider,
        "name": row.name,
        "address": row.address,
        "enabled": row.enabled,
        "staff_alerts": row.staff_alerts,
        "property_id": row.property_id,
    }


async def load_channel(context: Context, channel_id: UUID) -> Channel:
    row = await context.uow.channels.get(channel_id=channel_id)
    if row is None:
        raise not_found("channel")
    return row


@router.get("", response_model=list[ChannelOut])
async def list_channels(context: Manage) -> list[ChannelOut]:
    return [await channel_out(context, row) for row in await context.uow.channels.list_all()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ChannelCreated)
async def create_channel(body: ChannelCreate, context: Manage) -> ChannelCreated:
    """Add a channel; configure ``webhook_url`` (and the secret) at the provider."""
    if await context.uow.properties.get(property_id=body.property_id) is None:
        raise not_found("property")
    provider = Provider(body.provider)
    credentials = _plain(body.credentials)
    generated = None
    secret = body.webhook_secret.get_secret_value() if body.webhook_secret else None
    if secret is None and provider in GENERATED_SECRETS:
        secret = generated = secrets.token_urlsafe(32)
    elif secret is None and provider == Provider.TWILIO_SMS:
        secret = credentials["auth_token"]
    elif secret is None:
        raise invalid("webhook_secret", f"a {provider.value} channel needs the provider's secret")
    row = await context.uow.channels.add(
        property_id=body.property_id,
        provider=provider,
        name=body.name,
        address=body.address,
        credentials=credentials,
        webhook_secret=secret,
        enabled=body.enabled,
        staff_alerts=body.staff_alerts,
    )
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="channel",
        resource_id=row.id,
        action="create",
        new={**_audited(row), "credentials": sorted(credentials)},
    )
    out = await channel_out(context, row)
    await context.uow.commit()
    return ChannelCreated(**out.model_dump(), webhook_secret=generated)


@router.get("/{channel_id}", response_model=ChannelOut)
async def get_channel(channel_id: UUID, context: Manage) -> ChannelOut:
    return await channel_out(context, await load_channel(context, channel_id))


@router.patch("/{channel_id}", response_model=ChannelOut)
async def update_channel(channel_id: UUID, body: ChannelUpdate, context: Manage) -> ChannelOut:
    """Rename, enable or disable a channel (a disabled channel's webhooks are refused)."""
    row = await load_channel(context, channel_id)
    old = _audited(row)
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(row, name, value)
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="channel",
        resource_id=row.id,
        action="update",
        old=old,
        new=_audited(row),
    )
    out = await channel_out(context, row)
    await context.uow.commit()
    return out


@router.post("/{channel_id}/webhook-secret", response_model=SecretRotated)
async def rotate_webhook_secret(
    channel_id: UUID, body: SecretRotation, context: Manage
) -> SecretRotated:
    """Replace the webhook secret; a generated one is in this answer and nowhere else."""
    row = await load_channel(context, channel_id)
    provider = Provider(row.provider)
    generated = None
    if body.webhook_secret is not None:
        secret = body.webhook_secret.get_secret_value()
    elif provider in GENERATED_SECRETS:
        secret = generated = secrets.token_urlsafe(32)
    else:
        raise invalid("webhook_secret", f"{provider.value} issues the secret: pass the new one")
    await context.uow.channels.set_webhook_secret(channel_id=row.id, webhook_secret=secret)
    await context.uow.session.refresh(row)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="channel",
        resource_id=row.id,
        action="rotate_webhook_secret",
        new={"webhook_secret": "rotated"},
    )
    out = await channel_out(context, row)
    await context.uow.commit()
    return SecretRotated(channel=out, webhook_secret=generated)
