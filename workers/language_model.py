"""One call to an OpenAI-compatible chat completions endpoint: ``POST {base_url}/chat/completions``.

No retries here: a failed call costs the guest nothing (the template answer goes instead), and
a 429's ``Retry-After`` pauses the whole tenant (the composer records it). The API key goes in
the ``Authorization`` header only; an error's words are scrubbed of it before anyone sees them.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from persistence.repositories.composer import ModelAccess

# A 429 without Retry-After pauses the tenant this long.
DEFAULT_RETRY_AFTER = 30.0
MAX_RETRY_AFTER = 3600.0
DETAIL_CHARS = 300


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def as_dict(self) -> dict[str, int]:
        total = self.prompt_tokens + self.completion_tokens
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": total,
        }


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage
    latency_ms: int
    model: str


class ModelCallError(Exception):
    """The call gave no usable reply. ``reason``: timeout, rate_limited, server_error,
    client_error, unreachable or malformed; ``retry_after`` in seconds for rate_limited."""

    def __init__(
        self,
        reason: str,
        detail: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        latency_ms: int | None = None,
        usage: Usage | None = None,
    ) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.status = status
        self.retry_after = retry_after
        self.latency_ms = latency_ms
        self.usage = usage or Usage()


async def complete(access: ModelAccess, messages: Sequence[dict[str, str]]) -> Completion:
    """The model's reply to ``messages``; raises ``ModelCallError`` on any failure."""
    headers = {"Content-Type": "application/json"}
    secret = access.api_key.get_secret_value() if access.api_key is not None else ""
    if secret:
        headers["Authorization"] = f"Bearer {secret}"
    body = {
        "model": access.model,
        "messages": list(messages),
        "temperature": access.temperature,
        "max_tokens": access.max_tokens,
    }
    url = f"{access.base_url.rstrip('/')}/chat/completions"
    started = time.perf_counter()

    def elapsed() -> int:
        return round((time.perf_counter() - started) * 1000)

    try:
        async with (
            asyncio.timeout(access.timeout_seconds),
            httpx.AsyncClient(timeout=access.timeout_seconds) as client,
        ):
            response = await client.post(url, json=body, headers=headers)
    except (TimeoutError, httpx.TimeoutException):
        raise ModelCallError(
            "timeout", f"no answer within {access.timeout_seconds:g} s", latency_ms=elapsed()
        ) from None
    except httpx.HTTPError as exc:
        raise ModelCallError(
            "unreachable", _scrub(type(exc).__name__, secret), latency_ms=elapsed()
        ) from None
    latency = elapsed()
    if response.status_code != 200:
        raise _status_error(response, secret, latency)
    return _completion(response, access.model, secret, latency)


def _status_error(response: httpx.Response, secret: str, latency: int) -> ModelCallError:
    status = response.status_code
    said = _scrub(_error_message(response), secret)
    if status == 429:
        return ModelCallError(
            "rate_limited",
            said or "too many requests",
            status=status,
            retry_after=retry_after(response.headers),
            latency_ms=latency,
        )
    reason = "server_error" if status >= 500 else "client_error"
    return ModelCallError(reason, said or f"HTTP {status}", status=status, latency_ms=latency)


def _completion(response: httpx.Response, model: str, secret: str, latency: int) -> Completion:
    try:
        payload = response.json()
    except ValueError:
        raise ModelCallError("malformed", "the answer is not JSON", latency_ms=latency) from None
    usage = _usage(payload)
    try:
        content = payload["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        content = None
    if not isinstance(content, str) or not content.strip():
        raise ModelCallError(
            "malformed", "the answer has no message content", latency_ms=latency, usage=usage
        )
    named = payload.get("model") if isinstance(payload, dict) else None
    return Completion(
        text=_scrub(content, secret),
        usage=usage,
        latency_ms=latency,
        model=named if isinstance(named, str) and named else model,
    )


def _usage(payload: Any) -> Usage:
    usage = payload.get("usage") if isinstance(payload, dict) else None
    if not isinstance(usage, dict):
        return Usage()

    def tokens(name: str) -> int:
        value = usage.get(name)
        return value if isinstance(value, int) and 0 <= value < 10**9 else 0

    return Usage(tokens("prompt_tokens"), tokens("completion_tokens"))


def _error_message(response: httpx.Response) -> str:
    """OpenAI's ``{"error": {"message": …}}``, or the start of whatever the body says."""
    try:
        payload = response.json()
    except ValueError:
        return response.text[:DETAIL_CHARS].strip()
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:DETAIL_CHARS]
    if isinstance(error, str):
        return error[:DETAIL_CHARS]
    return ""


def retry_after(headers: httpx.Headers, *, now: datetime | None = None) -> float:
    """Seconds to wait from ``retry-after-ms``, ``Retry-After`` (seconds or an HTTP date)."""
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return _bounded(float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return _bounded(float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return _bounded((when - (now or datetime.now(UTC))).total_seconds())


def _bounded(seconds: float) -> float:
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _scrub(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text
