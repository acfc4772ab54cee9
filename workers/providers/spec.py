"""What a provider module exports, in one value: its ``SPEC``.

A ``ProviderSpec`` names the provider, the webhook route the ingress serves for it, the check
and the parser the ingress runs on each webhook (both given a ``WebhookRequest``), the sender
the dispatcher builds, and the OpenAPI description of the webhook body. The ingress,
the dispatcher, ``frontdesk up`` (webhook URLs) and the OpenAPI document read the specs from
``workers.providers.registry``, so a provider is added by its module (and its tests).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import httpx

from domain.channels import ChannelRoute
from domain.events import Provider
from workers.providers.base import ParsedEvent, Sender, UploadedFile
from workers.providers.http import SenderSettings


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One webhook request as the ingress read it: what a provider's check and parser take.

    ``url`` is the public URL the provider called (query included), ``headers`` are looked up
    without regard to case. A JSON body is checked on its raw bytes before it is decoded into
    ``payload``; a form is decoded first, since its signature covers its fields.
    """

    url: str
    headers: Mapping[str, str]
    body: bytes
    payload: Any = None  # a JSON body, decoded
    params: Sequence[tuple[str, str]] = ()  # a form body's fields, in order
    files: Sequence[UploadedFile] = ()  # a multipart form's file parts, metadata only

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.params)


class BodyFormat(StrEnum):
    JSON = "json"  # checked on the raw bytes, then decoded
    FORM = "form"  # decoded first: the signature covers its fields


@dataclass(frozen=True, slots=True)
class WebhookReply:
    """What a webhook is answered with, when not ``{"accepted": <events>}``."""

    content: str | Mapping[str, Any]
    media_type: str = "application/json"


@dataclass(frozen=True, slots=True)
class WebhookDoc:
    """The OpenAPI description of one webhook route: ``example`` for a JSON body, ``fields`` for
    a form; ``headers`` the provider's authentication headers, ``multipart`` when files come."""

    summary: str
    body: str
    example: Mapping[str, Any] | None = None
    fields: Mapping[str, str] | None = None
    headers: tuple[str, ...] = ()
    multipart: bool = False


class SenderFactory(Protocol):
    """A sender class: built with the shared HTTP client (unused by SMTP) and the settings."""

    def __call__(self, client: httpx.AsyncClient, settings: SenderSettings) -> Sender: ...


Check = Callable[[ChannelRoute, WebhookRequest], None]
Parse = Callable[[ChannelRoute, WebhookRequest], list[ParsedEvent]]


@dataclass(frozen=True, slots=True)
class StatusRoute:
    """A second POST route, ``/webhooks/<route>/{channel_id}/<path>``, for delivery statuses."""

    path: str
    parse: Parse
    doc: WebhookDoc


@dataclass(frozen=True, slots=True)
class Handshake:
    """A GET on the webhook route that proves the endpoint is ours: ``verify`` checks its query
    (raising like a webhook check), then the ``challenge`` parameter is echoed as plain text.
    ``query`` lists the parameters, for the OpenAPI document."""

    verify: Callable[[ChannelRoute, Mapping[str, str]], None]
    challenge: str
    query: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SingleUseToken:
    """A token a webhook may present once: ``of`` reads it, and the ingress remembers it for
    ``remember_seconds`` (past the time its signature could still be accepted)."""

    of: Callable[[WebhookRequest], str]
    remember_seconds: float


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider, as everything outside its module sees it.

    ``verify`` raises ``WebhookUnauthorized``/``WebhookForbidden``; ``parse_inbound`` raises
    ``MalformedPayload`` (or pydantic's ``ValidationError``). Optional parts:
    ``verify_subscription`` is a GET handshake on the webhook route;
    ``status`` is a status-callback route; ``reply`` answers the webhook otherwise than with
    the count of events; ``single_use_token`` is a token a webhook may present only once.
    """

    provider: Provider
    route: str  # the path segment: /webhooks/<route>/{channel_id}
    body_format: BodyFormat
    verify: Check
    parse_inbound: Parse
    sender: SenderFactory
    doc: WebhookDoc
    verify_subscription: Handshake | None = None
    status: StatusRoute | None = None
    reply: Callable[[WebhookRequest, list[ParsedEvent]], WebhookReply | None] | None = None
    single_use_token: SingleUseToken | None = None

    def webhook_url(self, base_url: str, public_id: object) -> str:
        """Where the provider posts a channel's webhooks."""
        return f"{base_url.rstrip('/')}/webhooks/{self.route}/{public_id}"
