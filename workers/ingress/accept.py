"""Accepting a webhook: the channel it names, its signature, its body, its events, its count.

The routes (``webhooks``) get the channel and the body as dependencies (``deps``) and wrap the
provider's own checks in ``verified`` and ``parsed``. Every refusal is an ``IngressError``,
answered by the app's exception handler; the outcome a request ends with is kept on
``request.state.outcome`` and counted once (``Acceptance.counted``).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any, ParamSpec, Protocol
from uuid import UUID

import pydantic
import structlog
from fastapi import Request

from domain.channels import ChannelRoute
from domain.events import Event, Provider
from workers.ingress.channels import ChannelLookup
from workers.ingress.errors import IngressError, malformed, not_found, unavailable
from workers.ingress.metrics import IngressMetrics, RequestOutcome
from workers.ingress.replay import ReplayGuard
from workers.providers.base import (
    MalformedPayload,
    ParsedEvent,
    WebhookForbidden,
    WebhookRejected,
    WebhookUnauthorized,
)
from workers.runtime.publisher import PublishFailed

log = structlog.get_logger(__name__)
P = ParamSpec("P")


class EventPublisher(Protocol):
    async def publish_many(
        self, events: Iterable[Event], *, headers: Mapping[str, Any] | None = None
    ) -> None: ...


class Acceptance:
    """What every webhook shares: the channel directory, the publisher, the metrics, the body
    limit, the public URL providers sign, and the ledger of single-use tokens."""

    def __init__(
        self,
        *,
        channels: ChannelLookup,
        publisher: EventPublisher,
        metrics: IngressMetrics,
        publish_timeout: float,
        max_body_bytes: int,
        public_base_url: str,
        replay: ReplayGuard,
    ) -> None:
        self._channels = channels
        self._publisher = publisher
        self._metrics = metrics
        self._publish_timeout = publish_timeout
        self.max_body_bytes = max_body_bytes
        self.public_base_url = public_base_url.rstrip("/")
        self.replay = replay
        self.retry_after = max(1, math.ceil(publish_timeout))

    @asynccontextmanager
    async def counted(self, request: Request, provider: Provider) -> AsyncIterator[None]:
        """Counts the request once, by the outcome the route leaves on ``request.state`` or the
        error it ends with."""
        request.state.outcome = RequestOutcome.ACCEPTED
        route = request.scope["route"].path
        try:
            yield
        except IngressError as exc:
            request.state.outcome = exc.outcome
            if exc.status_code >= 500:
                log.warning("webhook deferred", route=route, provider=provider, reason=exc.reason)
            raise
        except BaseException:
            request.state.outcome = RequestOutcome.ERROR
            raise
        finally:
            outcome: RequestOutcome = request.state.outcome
            self._metrics.requests.labels(route, provider.value, outcome.value).inc()

    async def resolve(self, public_id: UUID, provider: Provider) -> ChannelRoute:
        """The enabled channel of ``provider`` with this public id, or 404."""
        try:
            route = await self._channels.lookup(public_id)
        except Exception as exc:  # the directory is a database: any failure means "later"
            log.warning("channel lookup failed", error=repr(exc))
            reason = "channel directory unavailable"
            raise unavailable(reason, retry_after=self.retry_after) from exc
        if route is None or not route.enabled or route.provider != provider:
            raise not_found()
        return route

    async def publish(
        self, request: Request, route: ChannelRoute, events: list[ParsedEvent]
    ) -> None:
        """Publishes all events confirmed within the deadline, or answers 503; a webhook with
        no event for frontdesk is counted as ignored."""
        if not events:
            request.state.outcome = RequestOutcome.IGNORED
            return
        started = time.perf_counter()
        try:
            await asyncio.wait_for(self._publisher.publish_many(events), self._publish_timeout)
        except (PublishFailed, TimeoutError) as exc:
            raise unavailable(
                f"events not confirmed by the broker: {exc or type(exc).__name__}",
                retry_after=self.retry_after,
            ) from exc
        elapsed = time.perf_counter() - started
        self._metrics.publish_seconds.labels(route.provider.value).observe(elapsed)
        request.state.outcome = RequestOutcome.ACCEPTED


def verified(check: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> None:
    """Runs a provider's signature check, mapping its refusal to 401 or 403."""
    try:
        check(*args, **kwargs)
    except WebhookUnauthorized as exc:
        raise IngressError(401, str(exc), outcome=RequestOutcome.UNAUTHORIZED) from None
    except WebhookForbidden as exc:
        raise IngressError(403, str(exc), outcome=RequestOutcome.FORBIDDEN) from None
    except WebhookRejected as exc:  # pragma: no cover - every rejection is one of the two
        raise IngressError(403, str(exc), outcome=RequestOutcome.FORBIDDEN) from None


def parsed(
    parse: Callable[P, list[ParsedEvent]], *args: P.args, **kwargs: P.kwargs
) -> list[ParsedEvent]:
    """Runs a provider's parser, mapping a body it cannot read to 422 with the reasons."""
    try:
        return parse(*args, **kwargs)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise malformed(
            "body does not match the provider's format", status_code=422, detail=errors
        ) from None
    except MalformedPayload as exc:
        raise malformed(str(exc), status_code=422) from None
