"""Outbound HTTP calls to providers with bounded retries, never sending one message twice.

Retried in place, because the provider certainly did not act on the request: connections that
could not be made, and answers saying so (429 with a Retry-After short enough to wait for here,
500, 502, 503). Everything else maps at once to a typed error: another 4xx is
``PermanentSendError``; retries used up, or a Retry-After too long to wait in process, is
``RetryableSendError`` so the dispatcher reschedules the message. A request that went out and
got no answer (a read timeout, a dropped connection) or a 504 from the provider's gateway may
have been acted on: that is ``UncertainSendError``, not retried, since most providers take no
idempotency key and a second request would reach the guest twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    stop_after_attempt,
    wait_exponential,
)

from workers.providers.base import PermanentSendError, RetryableSendError, UncertainSendError

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# The request never left: no connection was made (or none was free in the pool).
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Answered by a gateway that gave up waiting on the provider, which may still act on it.
UNCERTAIN_STATUSES = frozenset({504})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3
    backoff_initial: float = 0.2
    backoff_max: float = 2.0
    # A provider asking for a longer pause than this is answered later, by the dispatcher.
    max_retry_after: float = 10.0


class _Transient(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def describe(response: httpx.Response, label: str) -> str:
    # The URL is left out on purpose: Green API and Telegram carry their tokens in the path.
    body = response.text[:300] if response.content else ""
    return f"{label} -> HTTP {response.status_code} {body}".rstrip()


# Decides, from a non-2xx response, whether it is transient and how long the provider wants
# us to wait; ``None`` means "use the generic rule" (429 and 5xx transient, others permanent).
Classifier = Callable[[httpx.Response], tuple[bool, float | None] | None]


def _classify(response: httpx.Response, label: str, classifier: Classifier | None) -> None:
    if response.status_code in UNCERTAIN_STATUSES:
        raise UncertainSendError(describe(response, label))
    verdict = classifier(response) if classifier is not None else None
    if verdict is None:
        transient = response.status_code == 429 or response.status_code >= 500
        verdict = (transient, parse_retry_after(response.headers.get("Retry-After")))
    transient, retry_after = verdict
    if transient:
        raise _Transient(describe(response, label), retry_after)
    raise PermanentSendError(describe(response, label))


async def request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    label: str,
    policy: RetryPolicy,
    classifier: Classifier | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Send one request with retries; return the 2xx response or raise a ``SendError``."""
    backoff = wait_exponential(multiplier=policy.backoff_initial, max=policy.backoff_max)

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return error.retry_after
        return backoff(state)

    def worth_waiting(state: RetryCallState) -> bool:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Transient) and error.retry_after is not None:
            return error.retry_after <= policy.max_retry_after
        return isinstance(error, (_Transient, *NOT_SENT))

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=worth_waiting,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                response = await client.request(method, url, **kwargs)
                if response.is_success:
                    return response
                _classify(response, label, classifier)
    except _Transient as exc:
        raise RetryableSendError(str(exc), retry_after=exc.retry_after) from exc
    except NOT_SENT as exc:
        raise RetryableSendError(f"{label}: {type(exc).__name__}: {exc}") from exc
    except httpx.TransportError as exc:
        raise UncertainSendError(
            f"{label}: {type(exc).__name__} after the request went out: {exc}"
        ) from exc
    raise AssertionError("unreachable: tenacity either returns or reraises")
