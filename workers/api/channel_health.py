"""A channel's webhook at its provider (``channels.manage``): register it where the provider's
API can (Telegram, Green API), and check it, keeping the outcome and its time on the channel.

A provider that refuses or cannot be reached is a 502 problem carrying the provider's reason
(credentials masked out of it); a check records that outcome (``unreachable``) before answering.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import httpx
from fastapi import APIRouter, Depends
from sqlalchemy import func

from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.models import Channel
from workers.api import provider_webhooks
from workers.api.channels import ChannelOut, channel_out, load_channel
from workers.api.problems import Problem, invalid
from workers.api.provider_webhooks import ProviderCallError
from workers.api.schemas import Out
from workers.api.security import Context, require
from workers.providers.registry import webhook_url

router = APIRouter(prefix="/channels", tags=["channels"])
Manage = Annotated[Context, Depends(require("channels.manage"))]
UNSUPPORTED = "webhooks of this provider are configured in its console, not through its API"


class WebhookRegistered(Out):
    channel: ChannelOut
    webhook_url: str


class WebhookCheck(Out):
    channel: ChannelOut
    status: str
    checked_at: datetime
    error: str | None
    webhook_url_matches: bool
    pending_updates: int | None = None
    last_error_at: datetime | None = None
    provider_state: str | None = None


def provider_failed(exc: ProviderCallError) -> Problem:
    return Problem(502, f"the provider refused or failed: {exc}", kind="provider", reason=str(exc))


async def _route(context: Context, row: Channel) -> tuple[ChannelRoute, str]:
    if Provider(row.provider) not in provider_webhooks.SUPPORTED:
        raise invalid("provider", UNSUPPORTED, location="path")
    route = await context.uow.channels.route(channel_id=row.id)
    assert route is not None  # the row was just read in this transaction
    base_url = context.services.settings.public_base_url
    return route, webhook_url(base_url, route.provider, route.public_id)


@router.post("/{channel_id}/register-webhook", response_model=WebhookRegistered)
async def register_webhook(channel_id: UUID, context: Manage) -> WebhookRegistered:
    """Tell the provider to deliver to this channel's webhook URL, signed with its secret."""
    row = await load_channel(context, channel_id)
    route, url = await _route(context, row)
    if route.webhook_secret is None:
        raise invalid("webhook_secret", "rotate the webhook secret first", location="path")
    async with httpx.AsyncClient() as client:
        try:
            await provider_webhooks.register(client, route, url=url)
        except ProviderCallError as exc:
            raise provider_failed(exc) from None
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="channel",
        resource_id=row.id,
        action="register_webhook",
        new={"webhook_url": url, "webhook_secret": "set"},
    )
    out = await channel_out(context, row)
    await context.uow.commit()
    return WebhookRegistered(channel=out, webhook_url=url)


@router.post("/{channel_id}/check", response_model=WebhookCheck)
async def check_webhook(channel_id: UUID, context: Manage) -> WebhookCheck:
    """Ask the provider how the webhook fares; the outcome is kept on the channel."""
    row = await load_channel(context, channel_id)
    route, url = await _route(context, row)
    async with httpx.AsyncClient() as client:
        try:
            health = await provider_webhooks.check(client, route, url=url)
        except ProviderCallError as exc:
            await _record(context, row, "unreachable", str(exc))
            await context.uow.commit()
            raise provider_failed(exc) from None
    await _record(context, row, health.status, health.error)
    out = await channel_out(context, row)
    await context.uow.commit()
    assert row.webhook_last_checked_at is not None
    return WebhookCheck(
        channel=out,
        status=health.status,
        checked_at=row.webhook_last_checked_at,
        error=health.error,
        webhook_url_matches=health.registered_url == url,
        pending_updates=health.pending_updates,
        last_error_at=health.last_error_at,
        provider_state=health.provider_state,
    )


async def _record(context: Context, row: Channel, status: str, error: str | None) -> None:
    row.webhook_status = status
    row.webhook_error = error
    row.webhook_last_checked_at = func.now()
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
