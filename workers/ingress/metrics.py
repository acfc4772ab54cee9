"""Prometheus metrics of one ingress app, in a registry of its own."""

from __future__ import annotations

from enum import StrEnum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class RequestOutcome(StrEnum):
    """How a webhook request ended: the ``outcome`` label of ``frontdesk_ingress_requests``."""

    ACCEPTED = "accepted"  # its events are on the broker
    IGNORED = "ignored"  # signed and well-formed, but nothing frontdesk acts on
    VERIFIED = "verified"  # a subscription handshake answered
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"  # deferred: the provider is told to retry
    ERROR = "error"  # a bug: answered 500


class IngressMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "frontdesk_ingress_requests",
            "Webhook requests by route, provider and outcome.",
            ["route", "provider", "outcome"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "frontdesk_ingress_in_flight",
            "Requests being handled now (admitted past the in-flight limit's check).",
            registry=self.registry,
        )
        self.shed = Counter(
            "frontdesk_ingress_shed",
            "Requests answered 503 at once because the ingress was at capacity.",
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "frontdesk_ingress_publish_seconds",
            "Time until the broker confirmed all events of one webhook request.",
            ["provider"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
