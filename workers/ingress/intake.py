"""The path every webhook takes: resolve the channel, verify, parse, publish, count."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol
from uuid import UUID

import pydantic
import structlog

from domain.channels import ChannelRoute
from domain.events import Event, Provider
from workers.ingress.channels import ChannelLookup
from workers.ingress.errors import IngressError, malformed, not_found, unavailable
from workers.ingress.metrics import IngressMetrics
from workers.providers.base import (
    MalformedPayload,
    ParsedEvent,
    WebhookForbidden,
    WebhookRejected,
    WebhookUnauthorized,
)
from workers.runtime.publisher import PublishFailed

log = structlog.get_logger(__name__)


class EventPublisher(Protocol):
    async def publish_many(
        self, events: Iterable[Event], *, headers: Mapping[str, Any] | None = None
    ) -> None: ...


class Intake:
    def __init__(
        self,
        *,
        channels: ChannelLookup,
        publisher: EventPublisher,
        metrics: IngressMetrics,
        publish_timeout: float,
    ) -> None:
        self._channels = channels
        self._publisher = publisher
        self._metrics = metrics
        self._publish_timeout = publish_timeout
        self.retry_after = max(1, math.ceil(publish_timeout))

    @asynccontextmanager
    async def counted(self, *, route: str, provider: Provider) -> AsyncIterator[list[str]]:
        """Counts the request once, by the outcome the body sets or the error it raises."""
        outcome = ["accepted"]
        try:
            yield outcome
        except IngressError as exc:
            outcome[0] = exc.outcome
            if exc.status_code >= 500:
                log.warning("webhook deferred", route=route, provider=provider, reason=exc.reason)
            raise
        except BaseException:
            outcome[0] = "error"
            raise
        finally:
            self._metrics.requests.labels(route, provider.value, outcome[0]).inc()

    async def resolve(self, public_id: UUID, provider: Provider) -> ChannelRoute:
        try:
            route = await self._channels.lookup(public_id)
        except Exception as exc:  # the directory is a database: any failure means "later"
            log.warning("channel lookup failed", error=repr(exc))
            reason = "channel directory unavailable"
            raise unavailable(reason, retry_after=self.retry_after) from exc
        if route is None or not route.enabled or route.provider != provider:
            raise not_found()
        return route

    @staticmethod
    def verified(check: Callable[[], None]) -> None:
        """Runs a provider's signature check, mapping its refusal to 401 or 403."""
        try:
            check()
        except WebhookUnauthorized as exc:
            raise IngressError(401, str(exc), outcome="unauthorized") from None
        except WebhookForbidden as exc:
            raise IngressError(403, str(exc), outcome="forbidden") from None
        except WebhookRejected as exc:  # pragma: no cover - every rejection is one of the two
            raise IngressError(403, str(exc), outcome="forbidden") from None

    @staticmethod
    def parsed(parse: Callable[[], list[ParsedEvent]]) -> list[ParsedEvent]:
        """Runs a provider's parser, mapping a body it cannot read to 422 with the reasons."""
        try:
            return parse()
        except pydantic.ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise malformed(
                "body does not match the provider's format", status_code=422, detail=errors
            ) from None
        except MalformedPayload as exc:
            raise malformed(str(exc), status_code=422) from None

    async def publish(self, events: list[ParsedEvent], *, provider: Provider) -> None:
        """Publishes all events confirmed within the deadline, or answers 503."""
        if not events:
            return
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._publisher.publish_many(events), self._publish_timeout)
        except (PublishFailed, TimeoutError) as exc:
            raise unavailable(
                f"events not confirmed by the broker: {exc or type(exc).__name__}",
                retry_after=self.retry_after,
            ) from exc
        self._metrics.publish_seconds.labels(provider.value).observe(time.perf_counter() - started)


def outcome_of(events: list[ParsedEvent]) -> str:
    return "accepted" if events else "ignored"
