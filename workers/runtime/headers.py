"""The ``x-frontdesk-*`` headers a delivery carries through retries, dead-lettering and replay.

Copies the runner makes (to a retry tier, to the dead-letter queue, back from a replay) keep the
body and properties of the original and drop the broker's own bookkeeping headers (``x-death``
and friends), which would otherwise grow with every lap.
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractMessage

ATTEMPT = "x-frontdesk-attempt"
REASON = "x-frontdesk-reason"
ERROR = "x-frontdesk-error"
CONSUMER = "x-frontdesk-consumer"
ROUTING_KEY = "x-frontdesk-routing-key"
FIRST_FAILURE = "x-frontdesk-first-failure"
DEAD_AT = "x-frontdesk-dead-at"
REPLAY_COUNT = "x-frontdesk-replay-count"
TENANT = "tenant_id"

_BROKER_HEADERS = ("x-death", "x-delivery-count")
_BROKER_PREFIXES = ("x-first-death-", "x-last-death-")
ERROR_LIMIT = 2000


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def attempt_of(headers: Mapping[str, Any]) -> int:
    """The 1-based attempt this delivery is; a fresh event is attempt 1."""
    return max(1, _int(headers.get(ATTEMPT), 1))


def replay_count_of(headers: Mapping[str, Any]) -> int:
    return max(0, _int(headers.get(REPLAY_COUNT), 0))


def text(headers: Mapping[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def reason_of(headers: Mapping[str, Any]) -> str | None:
    """Ours when the runner dead-lettered it, else the broker's (``delivery_limit``, ...)."""
    return text(headers, REASON) or text(headers, "x-first-death-reason")


def short_traceback(exc: BaseException) -> str:
    """The tail of the traceback: the frames nearest the failure matter most."""
    rendered = "".join(traceback.format_exception(exc, limit=-4))
    return rendered[-ERROR_LIMIT:]


def own_headers(headers: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: value
        for key, value in headers.items()
        if key not in _BROKER_HEADERS and not key.startswith(_BROKER_PREFIXES)
    }


def copy_message(message: AbstractMessage, headers: Mapping[str, Any]) -> aio_pika.Message:
    """The same body and properties as ``message`` with ``headers`` instead of its own."""
    return aio_pika.Message(
        body=message.body,
        headers=dict(headers),
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=message.priority,
        correlation_id=message.correlation_id,
        message_id=message.message_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )


def original_routing_key(message: AbstractMessage, routing_key: str | None) -> str:
    """The routing key the event was first published with (laps through retry lose it)."""
    return text(message.headers, ROUTING_KEY) or routing_key or ""
