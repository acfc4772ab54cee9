"""Webhook routes, made from each provider's spec (``workers.providers.registry``): the channel
and the body come as dependencies, the route checks the signature, parses and publishes
(``accept``).

Per spec: ``POST /webhooks/<route>/{channel_id}``, a status route beside it when the provider
posts delivery statuses elsewhere, and ``GET`` on the same path when it verifies the endpoint
with a handshake.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from domain.channels import ChannelRoute
from domain.events import Provider
from workers.ingress import openapi
from workers.ingress.accept import Acceptance, parsed, verified
from workers.ingress.body import parse_form, parse_json_object
from workers.ingress.dependencies import Accept, Body, channel_for
from workers.ingress.errors import IngressError, malformed
from workers.ingress.metrics import RequestOutcome
from workers.ingress.replay import ReplayGuard
from workers.providers.base import UploadedFile, WebhookForbidden
from workers.providers.registry import SPECS
from workers.providers.spec import BodyFormat, Handshake, Parse, ProviderSpec, WebhookRequest


def _for_provider(endpoint: Callable[..., Any], provider: Provider) -> inspect.Signature:
    """``endpoint``'s signature with its ``route`` parameter given by ``channel_for(provider)``:
    the dependencies FastAPI reads, the channel's being the provider's own."""
    signature = inspect.signature(endpoint, eval_str=True)
    channel = Annotated[ChannelRoute, Depends(channel_for(provider))]
    parameters = [
        parameter.replace(annotation=channel) if parameter.name == "route" else parameter
        for parameter in signature.parameters.values()
    ]
    return signature.replace(parameters=parameters)


class WebhookRoute:
    """One provider's POST route: the body read as its spec says, checked, parsed by ``parse``,
    published, answered."""

    def __init__(self, spec: ProviderSpec, parse: Parse) -> None:
        self.spec = spec
        self.parse = parse
        self.__signature__ = _for_provider(self.__call__, spec.provider)

    async def __call__(
        self, request: Request, route: ChannelRoute, body: Body, accept: Accept
    ) -> Response:
        webhook = await self._checked(request, route, body, accept)
        token = self.spec.single_use_token
        key = f"{route.channel_id}:{token.of(webhook)}" if token is not None else None
        if key is not None:
            verified(_claim, accept.replay, key)
        try:
            events = parsed(self.parse, route, webhook)
            await accept.publish(request, route, events)
        except IngressError:
            if key is not None:
                # Mailgun retries a refused POST with the same token; let that retry through.
                accept.replay.release(key)
            raise
        reply = self.spec.reply(webhook, events) if self.spec.reply is not None else None
        if reply is None:
            return JSONResponse({"accepted": len(events)})
        if isinstance(reply.content, str):
            return Response(reply.content, media_type=reply.media_type)
        return JSONResponse(dict(reply.content), media_type=reply.media_type)

    async def _checked(
        self, request: Request, route: ChannelRoute, body: bytes, accept: Acceptance
    ) -> WebhookRequest:
        """The webhook once its signature holds: over the raw bytes (then decoded) for JSON,
        over the decoded fields for a form."""
        query = request.url.query
        url = accept.public_base_url + request.url.path + (f"?{query}" if query else "")
        webhook = WebhookRequest(url=url, headers=request.headers, body=body)
        if self.spec.body_format is BodyFormat.JSON:
            verified(self.spec.verify, route, webhook)
            return replace(webhook, payload=parse_json_object(body))
        files: list[UploadedFile] = []
        params = await parse_form(request, body, files)
        webhook = replace(webhook, params=tuple(params), files=tuple(files))
        verified(self.spec.verify, route, webhook)
        return webhook


class HandshakeRoute:
    """A provider's GET handshake: echoes the challenge once the query's token holds."""

    def __init__(self, provider: Provider, handshake: Handshake) -> None:
        self.handshake = handshake
        self.__signature__ = _for_provider(self.__call__, provider)

    async def __call__(self, request: Request, route: ChannelRoute) -> PlainTextResponse:
        query = request.query_params
        verified(self.handshake.verify, route, query)
        challenge = query.get(self.handshake.challenge)
        if not challenge:
            raise malformed(f"{self.handshake.challenge} is missing")
        request.state.outcome = RequestOutcome.VERIFIED
        return PlainTextResponse(challenge)


def _claim(replay: ReplayGuard, key: str) -> None:
    if not replay.claim(key):
        raise WebhookForbidden("token was already used")


def webhook_router(specs: list[ProviderSpec]) -> APIRouter:
    """The webhook routes of ``specs``."""
    router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=openapi.responses())
    for spec in specs:
        path = f"/{spec.route}/{{channel_id}}"
        name = spec.provider.value
        if spec.verify_subscription is not None:
            router.add_api_route(
                path,
                HandshakeRoute(spec.provider, spec.verify_subscription),
                methods=["GET"],
                name=f"{name}_subscription",
                response_class=PlainTextResponse,
                description=openapi.HANDSHAKE,
                openapi_extra=openapi.handshake(spec.verify_subscription),
            )
        router.add_api_route(
            path,
            WebhookRoute(spec, spec.parse_inbound),
            methods=["POST"],
            name=f"{name}_webhook",
            description=spec.doc.summary,
            openapi_extra=openapi.operation(spec.doc),
        )
        if spec.status is not None:
            router.add_api_route(
                f"{path}/{spec.status.path}",
                WebhookRoute(spec, spec.status.parse),
                methods=["POST"],
                name=f"{name}_status",
                description=spec.status.doc.summary,
                openapi_extra=openapi.operation(spec.status.doc),
            )
    return router


router = webhook_router(list(SPECS.values()))
