"""Webhook routes, one per provider: the channel and the body come as dependencies, the route
checks the signature, parses and publishes (``accept``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
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
from workers.providers import email, green_api, telegram, twilio_sms, whatsapp_cloud
from workers.providers.base import ParsedEvent, UploadedFile, WebhookForbidden

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

OptionalHeader = Annotated[str | None, Header()]

GreenApiChannel = Annotated[ChannelRoute, Depends(channel_for(Provider.GREEN_API))]
WhatsAppChannel = Annotated[ChannelRoute, Depends(channel_for(Provider.WHATSAPP_CLOUD))]
TwilioChannel = Annotated[ChannelRoute, Depends(channel_for(Provider.TWILIO_SMS))]
TelegramChannel = Annotated[ChannelRoute, Depends(channel_for(Provider.TELEGRAM))]
EmailChannel = Annotated[ChannelRoute, Depends(channel_for(Provider.EMAIL))]

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=openapi.responses())


def _accepted(events: list[ParsedEvent]) -> JSONResponse:
    return JSONResponse({"accepted": len(events)})


@router.post("/green-api/{channel_id}", openapi_extra=openapi.GREEN_API)
async def green_api_webhook(
    request: Request,
    route: GreenApiChannel,
    body: Body,
    accept: Accept,
    authorization: OptionalHeader = None,
) -> JSONResponse:
    """Green API webhooks, authenticated by ``Authorization: Bearer <webhookUrlToken>``."""
    verified(green_api.verify, route, authorization=authorization)
    events = parsed(green_api.parse_inbound, route, parse_json_object(body))
    await accept.publish(request, route, events)
    return _accepted(events)


@router.get("/whatsapp/{channel_id}", response_class=PlainTextResponse)
async def whatsapp_subscription(
    request: Request,
    route: WhatsAppChannel,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    verify_token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's subscription handshake: echoes ``hub.challenge`` if the verify token matches."""
    verified(whatsapp_cloud.verify_subscription, route, mode=mode, token=verify_token)
    if not challenge:
        raise malformed("hub.challenge is missing")
    request.state.outcome = RequestOutcome.VERIFIED
    return PlainTextResponse(challenge)


@router.post("/whatsapp/{channel_id}", openapi_extra=openapi.WHATSAPP)
async def whatsapp_webhook(
    request: Request,
    route: WhatsAppChannel,
    body: Body,
    accept: Accept,
    x_hub_signature_256: OptionalHeader = None,
) -> JSONResponse:
    """WhatsApp Cloud API notifications, signed with ``X-Hub-Signature-256``."""
    verified(whatsapp_cloud.verify, route, body=body, signature=x_hub_signature_256)
    events = parsed(whatsapp_cloud.parse_inbound, route, parse_json_object(body))
    await accept.publish(request, route, events)
    return _accepted(events)


@router.post("/twilio/{channel_id}", openapi_extra=openapi.TWILIO_INBOUND)
async def twilio_inbound(
    request: Request,
    route: TwilioChannel,
    body: Body,
    accept: Accept,
    x_twilio_signature: OptionalHeader = None,
) -> Response:
    """Twilio incoming messages, signed with ``X-Twilio-Signature``; answers empty TwiML."""
    form = await _signed_twilio_form(request, route, body, accept, x_twilio_signature)
    await accept.publish(request, route, parsed(twilio_sms.parse_inbound, route, form))
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post("/twilio/{channel_id}/status", openapi_extra=openapi.TWILIO_STATUS)
async def twilio_status(
    request: Request,
    route: TwilioChannel,
    body: Body,
    accept: Accept,
    x_twilio_signature: OptionalHeader = None,
) -> Response:
    """Twilio status callbacks for outbound messages, signed like inbound ones."""
    form = await _signed_twilio_form(request, route, body, accept, x_twilio_signature)
    await accept.publish(request, route, parsed(twilio_sms.parse_status, route, form))
    return Response(EMPTY_TWIML, media_type="text/xml")


async def _signed_twilio_form(
    request: Request,
    route: ChannelRoute,
    body: bytes,
    accept: Acceptance,
    signature: str | None,
) -> dict[str, str]:
    """The form, once its signature over the public URL (query included) and params holds."""
    params = await parse_form(request, body)
    query = request.url.query
    url = accept.public_base_url + request.url.path + (f"?{query}" if query else "")
    verified(twilio_sms.verify, route, url=url, params=params, signature=signature)
    return dict(params)


@router.post("/telegram/{channel_id}", openapi_extra=openapi.TELEGRAM)
async def telegram_webhook(
    request: Request,
    route: TelegramChannel,
    body: Body,
    accept: Accept,
    x_telegram_bot_api_secret_token: OptionalHeader = None,
) -> JSONResponse:
    """Telegram updates, authenticated by ``X-Telegram-Bot-Api-Secret-Token``."""
    verified(telegram.verify, route, secret_token=x_telegram_bot_api_secret_token)
    payload = parse_json_object(body)
    events = parsed(telegram.parse_inbound, route, payload)
    await accept.publish(request, route, events)
    answer = telegram.webhook_answer(payload)  # a button press: stop its spinner
    return JSONResponse(answer) if answer else _accepted(events)


@router.post("/email/{channel_id}", openapi_extra=openapi.EMAIL)
async def email_webhook(
    request: Request, route: EmailChannel, body: Body, accept: Accept
) -> JSONResponse:
    """Mailgun inbound mail, signed with HMAC-SHA256 of timestamp and a single-use token."""
    files: list[UploadedFile] = []
    form = dict(await parse_form(request, body, files))
    token = form.get("token", "")
    verified(
        email.verify,
        route,
        timestamp=form.get("timestamp"),
        token=token,
        signature=form.get("signature"),
    )
    key = f"{route.channel_id}:{token}"
    verified(_claim, accept.replay, key)
    try:
        events = parsed(email.parse_inbound, route, form, files)
        await accept.publish(request, route, events)
    except IngressError:
        # Mailgun retries a refused POST with the same token; let that retry through.
        accept.replay.release(key)
        raise
    return _accepted(events)


def _claim(replay: ReplayGuard, key: str) -> None:
    if not replay.claim(key):
        raise WebhookForbidden("token was already used")
