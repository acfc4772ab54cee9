"""Bounds on what one ingress process holds, so overload turns into fast 503s, not slow 200s.

- Requests in flight: past ``max_in_flight`` webhooks being handled, the next one is answered
  503 with ``Retry-After`` at once and its connection closed. Queued work only makes every
  answer late; a provider told to retry comes back when there is room, and the requests
  already admitted finish well inside the provider's own timeout.
- Time to send a body: an admitted request has ``body_timeout`` seconds from its headers to
  deliver its whole body, or it is answered 408 and its connection closed (``read_body``).
- Time to send headers: uvicorn bounds the header size but not the time it takes to arrive,
  and arms its keep-alive timer only after a first response, so a connection dribbling its
  headers (or sending nothing) is held forever. ``header_deadline_protocol`` closes it after
  ``timeout`` seconds with a 408.

uvicorn's own ``limit_concurrency`` (connections plus tasks) stays as the outer bound on open
connections; ``timeout_keep_alive`` closes idle ones between requests.
"""

from __future__ import annotations

import asyncio

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from workers.ingress.metrics import IngressMetrics

# The deadline (event-loop time) by which an admitted request's body must have arrived.
BODY_DEADLINE = "frontdesk.body_deadline"
# A shed request is cheap to retry: the room it waits for frees within a second or two.
SHED_RETRY_AFTER_SECONDS = 2
# Probes and scrapes are answered even at capacity: an overloaded ingress is still alive.
OPERATIONS = frozenset({"/healthz", "/readyz", "/metrics"})
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
    b"content-length: 44\r\nconnection: close\r\n\r\n"
    b'{"detail": "request headers not received"}\r\n'
)


class LoadShedding:
    """ASGI middleware: at most ``max_in_flight`` requests handled at once; the rest 503."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_in_flight: int,
        body_timeout: float,
        retry_after: int,
        metrics: IngressMetrics,
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.body_timeout = body_timeout
        self.retry_after = retry_after
        self.metrics = metrics
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPERATIONS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            self.metrics.shed.inc()
            shed = JSONResponse(
                {"detail": "the ingress is at capacity; retry later"},
                status_code=503,
                # Closed, so a shed request's unread body does not hold the connection.
                headers={"Retry-After": str(self.retry_after), "Connection": "close"},
            )
            await shed(scope, receive, send)
            return
        scope[BODY_DEADLINE] = asyncio.get_running_loop().time() + self.body_timeout
        self.in_flight += 1
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.metrics.in_flight.dec()


def header_deadline_protocol(timeout: float) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol, closing a connection whose request headers are not
    complete ``timeout`` seconds after it opened (or after the request's first byte)."""

    class HeaderDeadlineProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm_header_timer()

        def on_headers_complete(self) -> None:
            self._cancel_header_timer()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_header_timer()
            super().connection_lost(exc)

        def _arm_header_timer(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(timeout, self._headers_too_slow)

        def _cancel_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if self.transport.is_closing():
                return
            if self.cycle is None or self.cycle.response_complete:
                self.transport.write(TIMEOUT_RESPONSE)
            self.transport.close()

    return HeaderDeadlineProtocol
