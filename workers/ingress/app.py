"""The ingress application: webhooks in, confirmed events out, nothing written locally."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from workers.ingress import health, webhooks
from workers.ingress.accept import Acceptance, EventPublisher
from workers.ingress.ack import AcknowledgementLookup, ack_router
from workers.ingress.channels import CachedChannels, ChannelLookup
from workers.ingress.errors import (
    IngressError,
    handle_http_error,
    handle_ingress_error,
    handle_validation_error,
)
from workers.ingress.health import ReadinessCheck
from workers.ingress.limits import SHED_RETRY_AFTER_SECONDS, LoadShedding
from workers.ingress.metrics import IngressMetrics
from workers.ingress.pms import IntegrationLookup, pms_router
from workers.ingress.replay import ReplayGuard
from workers.providers.registry import SPECS
from workers.settings import Settings


def _replay_ttl() -> float:
    """How long single-use webhook tokens are remembered: as long as any provider needs."""
    tokens = [spec.single_use_token for spec in SPECS.values()]
    return max((token.remember_seconds for token in tokens if token is not None), default=0.0)


def create_app(
    *,
    settings: Settings,
    channels: ChannelLookup,
    publisher: EventPublisher,
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    acknowledgements: AcknowledgementLookup | None = None,
    integrations: IntegrationLookup | None = None,
) -> FastAPI:
    """Build the ingress; ``channels`` is cached here for ``settings.channel_cache_seconds``."""
    metrics = IngressMetrics()
    channel_cache = CachedChannels(channels, ttl=settings.channel_cache_seconds)
    acceptance = Acceptance(
        channels=channel_cache,
        publisher=publisher,
        metrics=metrics,
        publish_timeout=settings.publish_timeout_seconds,
        max_body_bytes=settings.max_body_bytes,
        public_base_url=settings.public_base_url,
        replay=ReplayGuard(ttl=_replay_ttl()),
    )
    app = FastAPI(
        title="frontdesk ingress",
        summary="Provider webhooks in, confirmed events on the broker out.",
        version="1.0",
    )
    # What the routes' dependencies read (``workers.ingress.dependencies``, ``health``).
    app.state.acceptance = acceptance
    app.state.metrics = metrics
    app.state.readiness_checks = dict(readiness_checks or {})
    app.state.channel_cache = channel_cache  # kept in step with the database by the server
    app.add_middleware(
        LoadShedding,
        max_in_flight=settings.ingress_max_in_flight,
        body_timeout=settings.ingress_body_timeout_seconds,
        retry_after=SHED_RETRY_AFTER_SECONDS,
        metrics=metrics,
    )
    app.add_exception_handler(IngressError, handle_ingress_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.include_router(webhooks.router)
    app.include_router(
        ack_router(
            publisher=publisher,
            signing_key=settings.signing_key.get_secret_value().encode(),
            retry_after=acceptance.retry_after,
            acknowledgements=acknowledgements,
        )
    )
    app.include_router(
        pms_router(
            publisher=publisher,
            integrations=integrations,
            max_body_bytes=settings.max_body_bytes,
            retry_after=acceptance.retry_after,
        )
    )
    app.include_router(health.router)
    return app
