"""What every provider adapter shares: results, typed errors and the outbound contract.

An adapter module offers three things:

- ``verify_*``: check a webhook's signature on the raw request, raising ``WebhookUnauthorized``
  (nothing presented) or ``WebhookForbidden`` (presented but wrong);
- ``parse_inbound(route, payload)``: turn a verified payload into normalized events, raising
  ``MalformedPayload`` (or ``pydantic.ValidationError``) for a body that is not what the
  provider documents; webhook types frontdesk does not handle yield no events. A parser first
  passes the payload through ``storable`` so that every string it derives (columns, the raw
  copy kept as jsonb) is one PostgreSQL accepts: a webhook the ingress answers 200 can always
  be stored;
- a ``Sender`` whose ``send`` delivers one outbound message, raising ``PermanentSendError`` or
  ``RetryableSendError`` when the provider certainly did not take it (so the dispatcher knows
  whether to try again) and ``UncertainSendError`` when it may have (the request went out and
  the answer was lost): that one is never sent again. A sender whose provider can list what it
  sent recently is also a ``SentLookup``, so a send whose outcome was lost can be reconciled.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from domain.channels import ChannelRoute
from domain.events import DeliveryStatusReceived, InboundMessageReceived, OutboundMessageObserved

ParsedEvent = InboundMessageReceived | DeliveryStatusReceived | OutboundMessageObserved


@dataclass(frozen=True, slots=True)
class SendResult:
    provider_message_id: str


@dataclass(frozen=True, slots=True)
class TemplateRef:
    """An approved template (WhatsApp) with its positional body parameters."""

    name: str
    language: str = "en"
    parameters: tuple[str, ...] = ()


class SendError(Exception):
    """An outbound message was not accepted by the provider."""


class PermanentSendError(SendError):
    """Trying again will not help: bad recipient, revoked credentials, rejected content."""


class RetryableSendError(SendError):
    """The provider may accept the same message later; ``retry_after`` seconds if it said."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UncertainSendError(SendError):
    """The request reached the provider (or may have) and no answer came back: the message
    may have been delivered, so it must not be sent again blindly."""


@dataclass(frozen=True, slots=True)
class ReplyTo:
    """The guest's message an outbound message answers: e-mail threads replies under it."""

    subject: str | None = None
    message_id: str | None = None  # the provider's id (an e-mail's Message-ID, without <>)


class WebhookRejected(Exception):
    """A webhook failed authentication; the message is safe to show to the caller."""


class WebhookUnauthorized(WebhookRejected):
    """No credential was presented (missing signature header or field)."""


class WebhookForbidden(WebhookRejected):
    """A credential was presented and it is wrong, stale or replayed."""


class MalformedPayload(ValueError):
    """The body is not the shape the provider documents."""


@dataclass(frozen=True, slots=True)
class UploadedFile:
    """A file part of a multipart webhook, as far as frontdesk keeps it: never its bytes."""

    field: str
    file_name: str | None
    mime_type: str | None
    size_bytes: int


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message the dispatcher hands a sender: what ``Sender.send`` takes, in one value."""

    route: ChannelRoute
    to: str
    text: str
    idempotency_key: str
    template: TemplateRef | None = None
    reply_to: ReplyTo | None = None
    options: Sequence[tuple[str, str]] = ()


class Sender(Protocol):
    async def send(
        self,
        *,
        route: ChannelRoute,
        to: str,
        text: str,
        idempotency_key: str,
        template: TemplateRef | None = None,
        reply_to: ReplyTo | None = None,
        options: Sequence[tuple[str, str]] = (),
    ) -> SendResult: ...


class OutboundSender:
    """A ``Sender`` that takes the message as one ``OutboundMessage``: every provider's sender
    (HTTP or SMTP) implements ``deliver`` and inherits ``send``."""

    async def send(self, **message: Any) -> SendResult:
        return await self.deliver(OutboundMessage(**message))

    async def deliver(self, message: OutboundMessage) -> SendResult:
        raise NotImplementedError


@runtime_checkable
class SentLookup(Protocol):
    async def find_sent(
        self, *, route: ChannelRoute, to: str, text: str, since: datetime
    ) -> list[str]:
        """The provider's ids of messages with ``text`` sent to ``to`` since ``since``, newest
        first; raises ``SendError`` when the provider cannot be asked."""
        ...


class LooseModel(BaseModel):
    """A provider's webhook model: fields it does not name are kept (``model_extra``), and
    fields are read by their alias or their own name."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


# Deeper JSON than this is no provider's format; it is also past what the event's JSON encoding
# and PostgreSQL's jsonb accept.
MAX_PAYLOAD_DEPTH = 64


def storable_text(text: str) -> str:
    """``text`` as PostgreSQL's text and jsonb types take it: NUL (which neither can hold) is
    dropped, and a lone UTF-16 surrogate (which UTF-8 cannot encode) becomes U+FFFD; a pair of
    surrogates is joined into the character it stands for."""
    if text.isascii():
        return text.replace("\x00", "")
    joined = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return joined.replace("\x00", "")


def storable(payload: Any) -> Any:
    """A decoded JSON or form payload with every string, keys included, made ``storable_text``;
    raises ``MalformedPayload`` for nesting deeper than ``MAX_PAYLOAD_DEPTH``."""
    return _storable(payload, 0)


def _storable(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return storable_text(value)
    if depth >= MAX_PAYLOAD_DEPTH and isinstance(value, dict | list | tuple):
        raise MalformedPayload(f"the payload nests deeper than {MAX_PAYLOAD_DEPTH} levels")
    if isinstance(value, dict):
        return {_storable(k, depth): _storable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item, depth + 1) for item in value]
    return value


def from_channel(route: ChannelRoute) -> dict[str, Any]:
    """The fields every event a webhook makes takes from the channel it came to."""
    return {
        "tenant_id": route.tenant_id,
        "provider": route.provider,
        "channel_id": route.channel_id,
    }


def secrets_equal(presented: str | bytes, expected: str | bytes) -> bool:
    """Constant-time comparison of two secrets of any length."""
    left = presented.encode() if isinstance(presented, str) else presented
    right = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(left, right)


def check_presented(presented: str | None, expected: str, *, missing: str, wrong: str) -> None:
    """A credential a webhook presents, against ``expected`` in constant time: none presented is
    ``WebhookUnauthorized(missing)``, another one ``WebhookForbidden(wrong)``. White space
    around it is not part of it (an HTTP header's value arrives without any)."""
    if not presented:
        raise WebhookUnauthorized(missing)
    if not secrets_equal(presented.strip(), expected):
        raise WebhookForbidden(wrong)


def require_secret(route: ChannelRoute) -> str:
    """The channel's webhook secret; a channel without one accepts no webhook at all."""
    if not route.webhook_secret:
        raise WebhookForbidden("channel has no webhook secret configured")
    return route.webhook_secret


def credential(route: ChannelRoute, key: str) -> str:
    """A credential the channel must have to send; its absence is a configuration error."""
    value = route.credentials.get(key)
    if not value:
        raise PermanentSendError(f"channel credentials lack {key!r}")
    return value
