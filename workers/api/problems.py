"""Errors as ``application/problem+json`` (RFC 9457), mapped once for the whole API.

A route raises ``Problem`` (or lets a persistence error through); the handlers here turn it
into a response with ``type``, ``title``, ``status`` and ``detail``. Validation errors list
each field with its location and never echo the input (it may be a password).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from persistence.repositories.base import NotFoundError
from workers.api.commands import CommandError

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:frontdesk:problem:"
# Connection exceptions, invalid catalog, insufficient resources, operator intervention.
UNAVAILABLE_SQLSTATES = ("08", "3D", "53", "57P")
RETRY_AFTER_SECONDS = 5

log = structlog.get_logger(__name__)


class Problem(Exception):
    """A request frontdesk refuses, with the status and words to say why."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        kind: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind
        self.headers = dict(headers or {})
        self.extensions = extensions


def unauthorized(detail: str = "sign in first") -> Problem:
    return Problem(401, detail, kind="unauthorized", headers={"WWW-Authenticate": "Bearer"})


def forbidden(permission: str) -> Problem:
    return Problem(403, f"this needs the {permission!r} permission", kind="forbidden")


def not_found(what: str) -> Problem:
    return Problem(404, f"{what} not found", kind="not-found")


def conflict(detail: str, **extensions: Any) -> Problem:
    return Problem(409, detail, kind="conflict", **extensions)


def field_error(location: str, field: str, message: str) -> dict[str, Any]:
    return {"location": location, "field": field, "loc": [location, field], "message": message}


def invalid(field: str, message: str, *, location: str = "body") -> Problem:
    """One field is wrong in a way the schema could not tell (a 422 like pydantic's)."""
    error = field_error(location, field, message)
    return Problem(422, f"{field}: {message}", kind="validation", errors=[error])


def problem_response(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    title = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    body: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{kind}" if kind else "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        **(extensions or {}),
    }
    return JSONResponse(
        body, status_code=status, headers=dict(headers or {}), media_type=PROBLEM_JSON
    )


def field_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors as location, dotted field, message and type, without the input."""
    listed = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        location = str(loc[0]) if loc else "body"
        listed.append(
            {
                "location": location,
                "field": ".".join(str(part) for part in loc[1:]) or location,
                "loc": loc,
                "message": str(error.get("msg", "invalid")),
                "type": str(error.get("type", "value_error")),
            }
        )
    return listed


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return problem_response(
        exc.status, exc.detail, kind=exc.kind, headers=exc.headers, extensions=exc.extensions
    )


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc.errors())
    fields = ", ".join(sorted({f"{error['location']}.{error['field']}" for error in errors}))
    return problem_response(
        422, f"invalid request: {fields}", kind="validation", extensions={"errors": errors}
    )


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem_response(exc.status_code, detail, headers=exc.headers)


async def _not_found(request: Request, exc: Exception) -> Response:
    return problem_response(404, str(exc), kind="not-found")


async def _integrity(request: Request, exc: Exception) -> Response:
    """A constraint caught what validation did not: a conflict, never a 500."""
    assert isinstance(exc, IntegrityError)
    sqlstate = getattr(exc.orig, "sqlstate", None)
    constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
    if sqlstate == "23505":
        return problem_response(
            409,
            "this conflicts with an existing record",
            kind="conflict",
            extensions={"constraint": constraint},
        )
    if sqlstate == "23503":
        return problem_response(404, "a referenced record does not exist", kind="not-found")
    return problem_response(
        422,
        "the values break a rule of the data model",
        kind="validation",
        extensions={"constraint": constraint},
    )


async def _command(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CommandError)
    error = field_error("body", exc.field, str(exc))
    return problem_response(
        exc.status,
        str(exc),
        kind="conflict" if exc.status == 409 else "validation",
        extensions={"errors": [error]},
    )


def database_unavailable(exc: DBAPIError) -> bool:
    """The database could not be reached or is shutting down (not a fault of the request)."""
    sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
    if sqlstate.startswith(UNAVAILABLE_SQLSTATES):
        return True
    return exc.connection_invalidated or isinstance(exc.orig, OSError | ConnectionError)


async def _database(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DBAPIError)
    if database_unavailable(exc):
        log.warning("api database unavailable", path=request.url.path)
        return problem_response(
            503,
            "the database is unavailable: try again shortly",
            kind="unavailable",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return _unexpected(request, exc)


def _unexpected(request: Request, exc: Exception) -> Response:
    # Logged once, here, by type only: the request (and the error's text) may carry secrets.
    log.error("api request failed", path=request.url.path, error_type=type(exc).__name__)
    return problem_response(500, "internal error", kind="internal")


async def _contain(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """The last resort: an unexpected error is a 500 problem, logged once, never re-raised
    (Starlette's own 500 handler would log it again, traceback and all)."""
    try:
        return await call_next(request)
    except Exception as exc:
        return _unexpected(request, exc)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(CommandError, _command)
    app.add_exception_handler(DBAPIError, _database)
    app.middleware("http")(_contain)
