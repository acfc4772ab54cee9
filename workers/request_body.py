"""Request bodies read by hand, for the ingress's webhooks and the API's uploads: streamed bytes
counted against a limit (a declared Content-Length may be absent or a lie), and a body already
read handed back to Starlette to parse (as a form) without reading the socket again."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.types import Message


async def read_limited(request: Request, limit: int, too_large: Callable[[], Exception]) -> bytes:
    """The whole body; ``too_large()`` is raised as soon as more than ``limit`` bytes came."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large()
        chunks.append(chunk)
    return b"".join(chunks)


class ReplayedBody:
    """An ASGI ``receive`` that hands over a body already read, once, then a disconnect."""

    def __init__(self, body: bytes) -> None:
        self._body: bytes | None = body

    async def __call__(self) -> Message:
        body, self._body = self._body, None
        if body is None:
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": body, "more_body": False}


def replayed(request: Request, body: bytes) -> Request:
    """``request`` again, its body ``body`` (already read)."""
    return Request(request.scope, ReplayedBody(body))
