"""Webhook routes: one per provider, each a thin shell around the intake's steps."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from domain.channels import ChannelRoute
from domain.events import Provider
from workers.ingress import openapi
from workers.ingress.body import check_declared_size, parse_form, parse_json_object, read_body
from workers.ingress.errors import IngressError, malformed
from workers.ingress.intake import Intake
from workers.ingress.replay import ReplayGuard
from workers.providers import email, green_api, telegram, twilio_sms, whatsapp_cloud
from workers.providers.base import ParsedEvent, UploadedFile, WebhookForbidden

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

OptionalHeader = Annotated[str | None, Header()]
JsonParser = Callable[[ChannelRoute, dict[str, Any]], list[ParsedEvent]]


def _accepted(events: list[ParsedEvent]) -> JSONResponse:
    return JSONResponse({"accepted": len(events)})


def webhook_router(
    *, intake: Intake, max_body_bytes: int, public_base_url: str, replay: ReplayGuard
) -> APIRouter:
    router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=openapi.responses())
    base_url = public_base_url.rstrip("/")

    async def accept_json(
        request: Request,
        channel_id: UUID,
        provider: Provider,
        verify: Callable[[ChannelRoute, bytes], None],
        parse: JsonParser,
    ) -> list[ParsedEvent]:
        path = request.scope["route"].path
        async with intake.counted(route=path, provider=provider) as outcome:
            check_declared_size(request, max_body_bytes)
            route = await intake.resolve(channel_id, provider)
            body = await read_body(request, max_body_bytes)
            intake.verified(lambda: verify(route, body))
            payload = parse_json_object(body)
            events = intake.parsed(lambda: parse(route, payload))
            await intake.publish(events, provider=provider)
            outcome[0] = "accepted" if events else "ignored"
        return events

    async def accept_twilio(
        request: Request, channel_id: UUID, signature: str | None, *, status: bool
    ) -> Response:
        path = request.scope["route"].path
        async with intake.counted(route=path, provider=Provider.TWILIO_SMS) as outcome:
            check_declared_size(request, max_body_bytes)
            route = await intake.resolve(channel_id, Provider.TWILIO_SMS)
            body = await read_body(request, max_body_bytes)
            params = await parse_form(request, body)
            query = request.url.query
            url = base_url + request.url.path + (f"?{query}" if query else "")
            intake.verified(
                lambda: twilio_sms.verify(route, url=url, params=params, signature=signature)
            )
            form = dict(params)
            parse = twilio_sms.parse_status if status else twilio_sms.parse_inbound
            events = intake.parsed(lambda: parse(route, form))
            await intake.publish(events, provider=Provider.TWILIO_SMS)
            outcome[0] = "accepted" if events else "ignored"
        return Response(EMPTY_TWIML, media_type="text/xml")

    @router.post("/green-api/{channel_id}", openapi_extra=openapi.GREEN_API)
    async def green_api_webhook(
        channel_id: UUID, request: Request, authorization: OptionalHeader = None
    ) -> JSONResponse:
        """Green API webhooks, authenticated by ``Authorization: Bearer <webhookUrlToken>``."""
        events = await accept_json(
            request,
            channel_id,
            Provider.GREEN_API,
            lambda route, _body: green_api.verify(route, authorization=authorization),
            green_api.parse_inbound,
        )
        return _accepted(events)

    @router.get("/whatsapp/{channel_id}", response_class=PlainTextResponse)
    async def whatsapp_subscription(
        channel_id: UUID,
        request: Request,
        mode: Annotated[str | None, Query(alias="hub.mode")] = None,
        verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
        challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
    ) -> PlainTextResponse:
        """Meta's subscription handshake: echoes ``hub.challenge`` if the verify token matches."""
        path = request.scope["route"].path
        async with intake.counted(route=path, provider=Provider.WHATSAPP_CLOUD) as outcome:
            route = await intake.resolve(channel_id, Provider.WHATSAPP_CLOUD)
            intake.verified(
                lambda: whatsapp_cloud.verify_subscription(route, mode=mode, token=verify_token)
            )
            if not challenge:
                raise malformed("hub.challenge is missing")
            outcome[0] = "verified"
        return PlainTextResponse(challenge)

    @router.post("/whatsapp/{channel_id}", openapi_extra=openapi.WHATSAPP)
    async def whatsapp_webhook(
        channel_id: UUID, request: Request, x_hub_signature_256: OptionalHeader = None
    ) -> JSONResponse:
        """WhatsApp Cloud API notifications, signed with ``X-Hub-Signature-256``."""
        events = await accept_json(
            request,
            channel_id,
            Provider.WHATSAPP_CLOUD,
            lambda route, body: whatsapp_cloud.verify(
                route, body=body, signature=x_hub_signature_256
            ),
            whatsapp_cloud.parse_inbound,
        )
        return _accepted(events)

    @router.post("/twilio/{channel_id}", openapi_extra=openapi.TWILIO_INBOUND)
    async def twilio_inbound(
        channel_id: UUID, request: Request, x_twilio_signature: OptionalHeader = None
    ) -> Response:
        """Twilio incoming messages, signed with ``X-Twilio-Signature``; answers empty TwiML."""
        return await accept_twilio(request, channel_id, x_twilio_signature, status=False)

    @router.post("/twilio/{channel_id}/status", openapi_extra=openapi.TWILIO_STATUS)
    async def twilio_status(
        channel_id: UUID, request: Request, x_twilio_signature: OptionalHeader = None
    ) -> Response:
        """Twilio status callbacks for outbound messages, signed like inbound ones."""
        return await accept_twilio(request, channel_id, x_twilio_signature, status=True)

    @router.post("/telegram/{channel_id}", openapi_extra=openapi.TELEGRAM)
    async def telegram_webhook(
        channel_id: UUID,
        request: Request,
        x_telegram_bot_api_secret_token: OptionalHeader = None,
    ) -> JSONResponse:
        """Telegram updates, authenticated by ``X-Telegram-Bot-Api-Secret-Token``."""
        events = await accept_json(
            request,
            channel_id,
            Provider.TELEGRAM,
            lambda route, _body: telegram.verify(
                route, secret_token=x_telegram_bot_api_secret_token
            ),
            telegram.parse_inbound,
        )
        # A dialogue's button press: answer it at once (answerCallbackQuery) so it stops spinning.
        answer = telegram.webhook_answer(events[0].raw if events else None)
        return JSONResponse(answer) if answer else _accepted(events)

    @router.post("/email/{channel_id}", openapi_extra=openapi.EMAIL)
    async def email_webhook(channel_id: UUID, request: Request) -> JSONResponse:
        """Mailgun inbound mail, signed with HMAC-SHA256 of timestamp and a single-use token."""
        path = request.scope["route"].path
        async with intake.counted(route=path, provider=Provider.EMAIL) as outcome:
            check_declared_size(request, max_body_bytes)
            route = await intake.resolve(channel_id, Provider.EMAIL)
            body = await read_body(request, max_body_bytes)
            files: list[UploadedFile] = []
            form = dict(await parse_form(request, body, files))
            token = form.get("token", "")
            intake.verified(
                lambda: email.verify(
                    route,
                    timestamp=form.get("timestamp"),
                    token=token,
                    signature=form.get("signature"),
                )
            )
            intake.verified(lambda: _claim(replay, f"{route.channel_id}:{token}"))
            try:
                events = intake.parsed(lambda: email.parse_inbound(route, form, files))
                await intake.publish(events, provider=Provider.EMAIL)
            except IngressError:
                # Mailgun retries a refused POST with the same token; let that retry through.
                replay.release(f"{route.channel_id}:{token}")
                raise
            outcome[0] = "accepted"
        return _accepted(events)

    return router


def _claim(replay: ReplayGuard, key: str) -> None:
    if not replay.claim(key):
        raise WebhookForbidden("token was already used")
