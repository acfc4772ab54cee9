"""Outbound HTTP calls to providers with bounded retries, never sending one message twice.

Retried in place, because the provider certainly did not act on the request: connections that
could not be made, and answers saying so (429 with a Retry-After short enough to wait for here,
500, 502, 503). Everything else maps at once to a typed error: another 4xx is
``PermanentSendError``; retries used up, or a Retry-After too long to wait in process, is
``RetryableSendError`` so the dispatcher reschedules the message. A request that went out and
got no answer (a read timeout, a dropped connection) or a 504 from the provider's gateway may
have been acted on: that is ``UncertainSendError``, not retried, since most providers take no
idempotency key and a second request would reach the guest twice.

``HttpSender`` is what every HTTP provider's sender is: it holds the shared client and the
``SenderSettings``, and runs one send as build the request (the provider's ``request_for``),
call it here with retries and the provider's ``classify``, read the message id from the answer
(the provider's ``message_id``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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

from workers.providers.base import (
    OutboundMessage,
    OutboundSender,
    PermanentSendError,
    RetryableSendError,
    SendResult,
    UncertainSendError,
)

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


@dataclass(frozen=True, slots=True)
class SenderSettings:
    """What every sender is built with, from the process's settings: the retry policy, where
    providers reach the ingress (Twilio's status callbacks), the WhatsApp Graph API version
    (``None``: the module's default) and how long one SMTP connection may take."""

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    public_base_url: str | None = None
    whatsapp_graph_version: str | None = None
    smtp_timeout: float = 30.0


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


@dataclass(frozen=True, slots=True)
class HttpCall:
    """One request to a provider: ``options`` are httpx's (``json``, ``data``, ``headers``,
    ``auth``, ``params``); ``label`` names it in errors, never with the URL (tokens)."""

    method: str
    url: str
    label: str
    options: dict[str, Any] = field(default_factory=dict)


class HttpSender(OutboundSender):
    """A provider's sender over HTTP; a subclass says how to ask and how to read the answer."""

    def __init__(self, client: httpx.AsyncClient, settings: SenderSettings | None = None) -> None:
        self._client = client
        self._settings = settings or SenderSettings()

    async def deliver(self, message: OutboundMessage) -> SendResult:
        call = self.request_for(message)
        response = await self.call(call)
        try:
            return SendResult(provider_message_id=self.message_id(response.json()))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise PermanentSendError(f"{call.label} answered without a message id") from exc

    async def call(self, call: HttpCall) -> httpx.Response:
        """The 2xx answer to ``call``, retried as the module docstring says."""
        return await request(
            self._client,
            call.method,
            call.url,
            label=call.label,
            policy=self._settings.policy,
            classifier=self.classify,
            **call.options,
        )

    def request_for(self, message: OutboundMessage) -> HttpCall:
        """The request that sends ``message``."""
        raise NotImplementedError

    def message_id(self, answer: Any) -> str:
        """The provider's id of the sent message, from its decoded JSON answer; a missing key
        or a wrong type means the provider answered without one."""
        raise NotImplementedError

    def classify(self, response: httpx.Response) -> tuple[bool, float | None] | None:
        """A provider's own reading of a refusal (see ``Classifier``); ``None``: the generic."""
        return None
