"""Registering and checking a channel's webhook at its provider, where the provider's API can.

- Telegram: ``setWebhook`` with ``url`` and ``secret_token`` (Telegram then sends the secret in
  ``X-Telegram-Bot-Api-Secret-Token``); ``getWebhookInfo`` reports the URL, the updates waiting
  and the last delivery error.
- Green API: ``setSettings`` with ``webhookUrl`` and ``webhookUrlToken`` (sent back as
  ``Authorization: Bearer``) and incoming and outgoing-status webhooks on; ``getStateInstance``
  (is the WhatsApp account authorised?) and ``getSettings`` (where do webhooks go?).

WhatsApp Cloud, Twilio and Mailgun webhooks are configured in the provider's console. A provider
that refuses or cannot be reached raises ``ProviderCallError`` with its reason, credentials
masked out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from domain.channels import ChannelRoute
from domain.events import Provider
from workers.providers.green_api import DEFAULT_API_URL
from workers.providers.telegram import DEFAULT_API_BASE_URL

TIMEOUT_SECONDS = 10.0
SUPPORTED = frozenset({Provider.TELEGRAM, Provider.GREEN_API})
AUTHORIZED = "authorized"


class ProviderCallError(Exception):
    """The provider refused the call or could not be reached; the message is its reason."""


@dataclass(frozen=True, slots=True)
class WebhookHealth:
    status: str  # "ok" or "failing"
    error: str | None
    registered_url: str | None
    pending_updates: int | None = None
    last_error_at: datetime | None = None
    provider_state: str | None = None


def _masked(text: str, route: ChannelRoute) -> str:
    for value in (*route.credentials.values(), route.webhook_secret or ""):
        if len(value) >= 6:
            text = text.replace(value, "…")
    return text[:500]


async def _call(
    client: httpx.AsyncClient,
    route: ChannelRoute,
    method: str,
    url: str,
    *,
    json: dict[str, Any] | None = None,
) -> Any:
    """The provider's JSON answer; its refusal or silence as ``ProviderCallError``."""
    try:
        response = await client.request(method, url, json=json, timeout=TIMEOUT_SECONDS)
    except httpx.HTTPError as exc:
        raise ProviderCallError(
            f"the provider could not be reached ({type(exc).__name__})"
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or (isinstance(body, dict) and body.get("ok") is False):
        reason = body.get("description") if isinstance(body, dict) else None
        reason = reason or (response.text[:200] if response.text else response.reason_phrase)
        raise ProviderCallError(_masked(f"HTTP {response.status_code}: {reason}", route))
    if body is None:
        raise ProviderCallError("the provider's answer was not JSON")
    return body


def _telegram(route: ChannelRoute, method: str) -> str:
    base = (route.credentials.get("api_base_url") or DEFAULT_API_BASE_URL).rstrip("/")
    return f"{base}/bot{route.credentials['bot_token']}/{method}"


def _green_api(route: ChannelRoute, method: str) -> str:
    base = (route.credentials.get("api_url") or DEFAULT_API_URL).rstrip("/")
    instance, token = route.credentials["id_instance"], route.credentials["api_token_instance"]
    return f"{base}/waInstance{instance}/{method}/{token}"


async def register(client: httpx.AsyncClient, route: ChannelRoute, *, url: str) -> None:
    """Point the provider's webhooks at ``url``, signed with the channel's secret."""
    secret = route.webhook_secret or ""
    if route.provider == Provider.TELEGRAM:
        await _call(
            client,
            route,
            "POST",
            _telegram(route, "setWebhook"),
            json={"url": url, "secret_token": secret},
        )
    elif route.provider == Provider.GREEN_API:
        answer = await _call(
            client,
            route,
            "POST",
            _green_api(route, "setSettings"),
            json={
                "webhookUrl": url,
                "webhookUrlToken": secret,
                "incomingWebhook": "yes",
                "outgoingWebhook": "yes",
            },
        )
        if isinstance(answer, dict) and answer.get("saveSettings") is False:
            raise ProviderCallError("Green API did not save the settings")
    else:
        raise ValueError(f"{route.provider.value} webhooks are set in the provider's console")


async def check(client: httpx.AsyncClient, route: ChannelRoute, *, url: str) -> WebhookHealth:
    """Whether the provider delivers to ``url``, and what it last said about it."""
    if route.provider == Provider.TELEGRAM:
        answer = await _call(client, route, "GET", _telegram(route, "getWebhookInfo"))
        info = answer.get("result") or {}
        registered = info.get("url") or None
        error_at = info.get("last_error_date")
        last_error = info.get("last_error_message")
        problems = []
        if registered != url:
            problems.append(_elsewhere(registered))
        if last_error:
            problems.append(f"last delivery failed: {_masked(str(last_error), route)}")
        return WebhookHealth(
            status="failing" if problems else "ok",
            error="; ".join(problems) or None,
            registered_url=registered,
            pending_updates=int(info.get("pending_update_count") or 0),
            last_error_at=datetime.fromtimestamp(error_at, UTC) if error_at else None,
        )
    if route.provider == Provider.GREEN_API:
        state = await _call(client, route, "GET", _green_api(route, "getStateInstance"))
        settings = await _call(client, route, "GET", _green_api(route, "getSettings"))
        instance_state = str(state.get("stateInstance") or "unknown")
        registered = settings.get("webhookUrl") or None
        problems = []
        if instance_state != AUTHORIZED:
            problems.append(f"the instance is {instance_state}, not authorized")
        if registered != url:
            problems.append(_elsewhere(registered))
        return WebhookHealth(
            status="failing" if problems else "ok",
            error="; ".join(problems) or None,
            registered_url=registered,
            provider_state=instance_state,
        )
    raise ValueError(f"{route.provider.value} webhooks are checked in the provider's console")


def _elsewhere(registered: str | None) -> str:
    if registered is None:
        return "no webhook is registered"
    return "the webhook points elsewhere"
