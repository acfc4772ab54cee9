"""The one way the ingress refuses a request: a status, a reason and a metrics outcome.

Every refusal below 500 leaves one WARNING line (provider, channel public id, status,
reason), so a provider posting with a wrong secret or to a wrong URL shows in the logs; the
body and the credentials never do. Deferrals (503) are logged where they happen.
"""

from __future__ import annotations

from collections.abc import Mapping

import structlog
from fastapi import Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from workers.ingress.metrics import RequestOutcome


class IngressError(Exception):
    def __init__(
        self,
        status_code: int,
        reason: str,
        *,
        outcome: RequestOutcome,
        headers: Mapping[str, str] | None = None,
        detail: object = None,
    ) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason
        self.outcome = outcome
        self.headers = dict(headers or {})
        self.detail = detail


def not_found(reason: str = "unknown channel") -> IngressError:
    return IngressError(404, reason, outcome=RequestOutcome.NOT_FOUND)


def malformed(reason: str, *, status_code: int = 400, detail: object = None) -> IngressError:
    return IngressError(status_code, reason, outcome=RequestOutcome.MALFORMED, detail=detail)


def unavailable(reason: str, *, retry_after: int) -> IngressError:
    headers = {"Retry-After": str(retry_after)}
    return IngressError(503, reason, outcome=RequestOutcome.UNAVAILABLE, headers=headers)


def log_rejection(request: Request, status_code: int, reason: str) -> None:
    """One WARNING line for a refused request, naming what the operator needs to find it."""
    if status_code >= 500:
        return
    segments = request.url.path.strip("/").split("/")
    provider = segments[1] if len(segments) > 1 and segments[0] == "webhooks" else None
    channel = request.path_params.get("channel_id")
    if channel is None and provider is not None and len(segments) > 2:
        channel = segments[2][:64]  # the raw segment, when it is no channel id at all
    # The route's template, never the path: other routes carry credentials in theirs.
    route = getattr(request.scope.get("route"), "path", None)
    # Looked up per call: the configuration in force (and a test's capture) applies.
    structlog.get_logger(__name__).warning(
        "webhook rejected" if provider else "request rejected",
        provider=provider,
        channel=str(channel) if channel is not None else None,
        status=status_code,
        reason=reason,
        method=request.method,
        route=route,
    )


async def handle_ingress_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IngressError)
    log_rejection(request, exc.status_code, exc.reason)
    body: dict[str, object] = {"detail": exc.reason}
    if exc.detail is not None:
        body["errors"] = exc.detail
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """FastAPI's 422 (a path or header of the wrong shape), logged like our own refusals."""
    assert isinstance(exc, RequestValidationError)
    fields = sorted({".".join(map(str, error.get("loc", ()))) for error in exc.errors()})
    log_rejection(request, 422, f"invalid request: {', '.join(fields)}")
    return await request_validation_exception_handler(request, exc)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """Starlette's refusals (no such route, wrong method), logged like our own."""
    assert isinstance(exc, StarletteHTTPException)
    log_rejection(request, exc.status_code, str(exc.detail))
    return await http_exception_handler(request, exc)
