"""Liveness, readiness and metrics endpoints; the checks and the metrics are the app's
(``app.state.readiness_checks``, ``app.state.metrics``)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from workers.ingress.metrics import IngressMetrics

# A readiness check answers truthy when its dependency is reachable; raising counts as "no".
ReadinessCheck = Callable[[], Awaitable[object]]

CHECK_TIMEOUT_SECONDS = 2.0


async def _probe(check: ReadinessCheck) -> bool:
    try:
        return bool(await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS))
    except Exception:  # a probe reports, it never fails the endpoint
        return False


router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive and serving."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "A dependency (database, broker) is unreachable."}},
)
async def readyz(request: Request) -> JSONResponse:
    """Every dependency answered its readiness check within two seconds."""
    readiness_checks: Mapping[str, ReadinessCheck] = request.app.state.readiness_checks
    names = list(readiness_checks)
    results = await asyncio.gather(*(_probe(readiness_checks[n]) for n in names))
    checks = {name: "ok" if ok else "unavailable" for name, ok in zip(names, results, strict=True)}
    ready = all(results)
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
async def prometheus_metrics(request: Request) -> Response:
    """Prometheus text exposition of the ingress metrics."""
    metrics: IngressMetrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
