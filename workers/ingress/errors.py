"""The one way the ingress refuses a request: a status, a reason and a metrics outcome."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from fastapi.responses import JSONResponse, Response


class IngressError(Exception):
    def __init__(
        self,
        status_code: int,
        reason: str,
        *,
        outcome: str,
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
    return IngressError(404, reason, outcome="not_found")


def malformed(reason: str, *, status_code: int = 400, detail: object = None) -> IngressError:
    return IngressError(status_code, reason, outcome="malformed", detail=detail)


def unavailable(reason: str, *, retry_after: int) -> IngressError:
    headers = {"Retry-After": str(retry_after)}
    return IngressError(503, reason, outcome="unavailable", headers=headers)


async def handle_ingress_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, IngressError)
    body: dict[str, object] = {"detail": exc.reason}
    if exc.detail is not None:
        body["errors"] = exc.detail
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)
