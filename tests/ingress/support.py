"""What the ingress tests share: a dict of channels, a counting publisher, signed requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlencode
from uuid import UUID, uuid4

from domain.channels import ChannelRoute
from domain.events import Event
from workers.providers import twilio_sms

PUBLIC_BASE_URL = "https://frontdesk.example"


class StaticChannels:
    """Channels from a dict, counting lookups."""

    def __init__(self, *routes: ChannelRoute) -> None:
        self.routes = {route.public_id: route for route in routes}
        self.lookups = 0

    def add(self, route: ChannelRoute) -> ChannelRoute:
        self.routes[route.public_id] = route
        return route

    async def lookup(self, public_id: UUID) -> ChannelRoute | None:
        self.lookups += 1
        return self.routes.get(public_id)


class FailingChannels:
    async def lookup(self, public_id: UUID) -> ChannelRoute | None:
        raise ConnectionRefusedError("database unreachable")


class CountingPublisher:
    """Delegates to a real publisher and counts every call, so "nothing published" is exact."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls = 0

    async def publish_many(
        self, events: Iterable[Event], *, headers: Mapping[str, Any] | None = None
    ) -> None:
        self.calls += 1
        await self.inner.publish_many(events, headers=headers)


def path(prefix: str, route: ChannelRoute) -> str:
    return f"/webhooks/{prefix}/{route.public_id}"


def json_request(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def green_api(route: ChannelRoute, payload: Any) -> dict[str, Any]:
    return {
        "url": path("green-api", route),
        "content": json_request(payload),
        "headers": {
            "Authorization": f"Bearer {route.webhook_secret}",
            "Content-Type": "application/json",
        },
    }


def whatsapp(route: ChannelRoute, payload: Any, *, secret: str | None = None) -> dict[str, Any]:
    body = json_request(payload)
    key = (secret or route.webhook_secret or "").encode()
    signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
    return {
        "url": path("whatsapp", route),
        "content": body,
        "headers": {"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    }


def telegram(route: ChannelRoute, payload: Any) -> dict[str, Any]:
    return {
        "url": path("telegram", route),
        "content": json_request(payload),
        "headers": {
            "X-Telegram-Bot-Api-Secret-Token": route.webhook_secret or "",
            "Content-Type": "application/json",
        },
    }


def twilio(route: ChannelRoute, form: Mapping[str, str], *, status: bool = False) -> dict[str, Any]:
    url_path = path("twilio", route) + ("/status" if status else "")
    signature = twilio_sms.signature_of(
        route.webhook_secret or "", PUBLIC_BASE_URL + url_path, form.items()
    )
    return {
        "url": url_path,
        "content": urlencode(form).encode(),
        "headers": {
            "X-Twilio-Signature": signature,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    }


def mailgun_fields(
    route: ChannelRoute,
    fields: Mapping[str, str],
    *,
    timestamp: float | None = None,
    token: str | None = None,
) -> dict[str, str]:
    stamp = str(int(time.time() if timestamp is None else timestamp))
    token = token or uuid4().hex + uuid4().hex[:18]
    key = (route.webhook_secret or "").encode()
    signature = hmac.new(key, (stamp + token).encode(), hashlib.sha256).hexdigest()
    return {**fields, "timestamp": stamp, "token": token, "signature": signature}


def email(route: ChannelRoute, fields: Mapping[str, str], **signing: Any) -> dict[str, Any]:
    return {
        "url": path("email", route),
        "content": urlencode(mailgun_fields(route, fields, **signing)).encode(),
        "headers": {"Content-Type": "application/x-www-form-urlencoded"},
    }
