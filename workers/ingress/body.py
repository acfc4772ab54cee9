"""Reading a webhook body: bounded in size, then decoded as JSON or as a form."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from workers.ingress.errors import IngressError, malformed
from workers.ingress.limits import BODY_DEADLINE
from workers.ingress.metrics import RequestOutcome
from workers.providers.base import UploadedFile
from workers.request_body import read_limited, replayed


def check_declared_size(request: Request, limit: int) -> None:
    """Refuse early on Content-Length, before anything is read or looked up."""
    declared = request.headers.get("content-length")
    if declared is None:
        return
    try:
        size = int(declared)
    except ValueError:
        raise malformed("Content-Length is not a number") from None
    if size > limit:
        raise _too_large(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, its streamed bytes counted against ``limit``: Content-Length, checked
    before (``check_declared_size``), may be absent or a lie.

    The whole body must arrive by the deadline the load-shedding middleware set; a client
    that dribbles it is answered 408 and its connection closed.
    """
    try:
        async with asyncio.timeout_at(request.scope.get(BODY_DEADLINE)):
            return await read_limited(request, limit, lambda: _too_large(limit))
    except ClientDisconnect:
        raise malformed("client disconnected before the body was complete") from None
    except TimeoutError:
        raise IngressError(
            408,
            "body not received in time",
            outcome=RequestOutcome.TIMEOUT,
            headers={"Connection": "close"},
        ) from None


def _too_large(limit: int) -> IngressError:
    return IngressError(413, f"body exceeds {limit} bytes", outcome=RequestOutcome.TOO_LARGE)


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise malformed(f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise malformed("body must be a JSON object", status_code=422)
    return payload


async def parse_form(
    request: Request, body: bytes, files: list[UploadedFile] | None = None
) -> list[tuple[str, str]]:
    """Form fields in order, from an urlencoded or multipart body already read.

    Uploaded files become their file names, and their metadata is added to ``files`` when
    given: the bytes must not travel through the broker.
    """
    form_request = replayed(request, body)
    try:
        form = await form_request.form(max_files=20, max_fields=1000)
    except HTTPException as exc:
        raise malformed(f"form body cannot be parsed: {exc.detail}") from None
    try:
        items = form.multi_items()
        for name, value in items:
            if isinstance(value, UploadFile) and files is not None:
                size = value.size or 0
                files.append(UploadedFile(name, value.filename, value.content_type, size))
        return [
            (name, (value.filename or "") if isinstance(value, UploadFile) else value)
            for name, value in items
        ]
    finally:
        await form.close()
