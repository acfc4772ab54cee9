"""A local OpenAI-compatible chat completions server the tests start on loopback: it plays the
tenant's model provider. Each tenant gets its own path (``/t/<key>/chat/completions``), so tests
script their tenant's answers without seeing each other's calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

Answer = Callable[[dict[str, Any]], Response]


def reply(text: str, *, prompt_tokens: int = 120, completion_tokens: int = 30) -> Answer:
    """A well-formed chat completion saying ``text``."""

    def answer(body: dict[str, Any]) -> Response:
        return JSONResponse(
            {
                "id": "chatcmpl-test",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", "test-model"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )

    return answer


def error(status: int, message: str, *, headers: dict[str, str] | None = None) -> Answer:
    """OpenAI's error body: ``{"error": {"message", "type", "param", "code"}}``."""

    def answer(body: dict[str, Any]) -> Response:
        kind = "rate_limit_exceeded" if status == 429 else "server_error"
        return JSONResponse(
            {"error": {"message": message, "type": kind, "param": None, "code": kind}},
            status_code=status,
            headers=headers,
        )

    return answer


def malformed(body: dict[str, Any]) -> Response:
    return PlainTextResponse("<html>upstream hiccup</html>", status_code=200)


@dataclass
class Tenant:
    answer: Answer
    calls: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


class FakeModel:
    """Scripted answers per tenant key; ``hang`` answers only when the test ends."""

    def __init__(self) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.released = asyncio.Event()
        self.app = Starlette(
            routes=[Route("/t/{key}/chat/completions", self._complete, methods=["POST"])]
        )

    def script(self, key: str, answer: Answer | None) -> Tenant:
        tenant = self.tenants.setdefault(key, Tenant(answer or self._hang))
        tenant.answer = answer or self._hang
        return tenant

    async def _hang(self, body: dict[str, Any]) -> Response:  # type: ignore[misc]
        await self.released.wait()
        return error(503, "released")(body)

    async def _complete(self, request: Request) -> Response:
        tenant = self.tenants.get(request.path_params["key"])
        if tenant is None:
            return error(404, "no such model")({})
        body = json.loads(await request.body())
        tenant.calls.append(body)
        tenant.headers.append(dict(request.headers))
        answered = tenant.answer(body)
        if asyncio.iscoroutine(answered):
            answered = await answered
        return answered
