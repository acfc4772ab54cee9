"""E-mail: Mailgun inbound routes in, SMTP out.

Inbound is a Mailgun route's ``forward()`` POST (form-encoded, or multipart when the mail has
attachments) with ``sender, from, recipient, subject, body-plain, stripped-text, Message-Id,
message-headers, timestamp, token, signature``. The signature is the hex HMAC-SHA256 of
``timestamp + token`` keyed with the domain's webhook signing key. A timestamp more than five
minutes away from now is refused, and so is a token seen before (the ingress keeps the tokens
of the last minutes in memory; see ``workers.ingress.replay``). The dedup key is the mail's
Message-ID. Attachments are not carried over: their names are kept in ``raw`` only.

SendGrid Inbound Parse could later feed the same route: it posts multipart fields ``from, to,
subject, text, html, headers, envelope`` and signs nothing itself, so it would be configured with
basic auth in the webhook URL (or the signed-webhook add-on's ECDSA public key) as the secret,
and the parser would read ``headers`` for the Message-ID.

Outbound mail goes over SMTP with aiosmtplib; its Message-ID is derived from the idempotency key,
so the receiving side (and our own inbound parsing of bounces and replies) sees one identity
however often a send is retried.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from typing import Any

import aiosmtplib

from domain.channels import ChannelRoute
from domain.events import InboundMessageReceived, Provider
from workers.providers.base import (
    MalformedPayload,
    ParsedEvent,
    PermanentSendError,
    RetryableSendError,
    SendResult,
    TemplateRef,
    WebhookForbidden,
    WebhookUnauthorized,
    credential,
    require_secret,
    secrets_equal,
)

MAX_AGE_SECONDS = 300.0


def signature_of(signing_key: str, timestamp: str, token: str) -> str:
    message = (timestamp + token).encode()
    return hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()


def verify(
    route: ChannelRoute,
    *,
    timestamp: str | None,
    token: str | None,
    signature: str | None,
    now: float | None = None,
) -> None:
    """Check the signature and the timestamp's freshness; token reuse is the caller's check."""
    secret = require_secret(route)
    if not (timestamp and token and signature):
        raise WebhookUnauthorized("missing timestamp, token or signature field")
    if not secrets_equal(signature.strip().lower(), signature_of(secret, timestamp, token)):
        raise WebhookForbidden("signature does not match timestamp and token")
    try:
        signed_at = float(timestamp)
    except ValueError as exc:
        raise WebhookForbidden("timestamp is not a number") from exc
    current = time.time() if now is None else now
    if not abs(current - signed_at) <= MAX_AGE_SECONDS:
        raise WebhookForbidden("timestamp is more than five minutes away from now")


def _headers(form: Mapping[str, str]) -> dict[str, str]:
    """``message-headers`` is a JSON list of [name, value] pairs; the first of a name wins."""
    raw = form.get("message-headers")
    if not raw:
        return {}
    try:
        pairs = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload("message-headers is not JSON") from exc
    if not isinstance(pairs, list):
        raise MalformedPayload("message-headers must be a list of [name, value] pairs")
    headers: dict[str, str] = {}
    for pair in pairs:
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
            headers.setdefault(pair[0].lower(), pair[1])
    return headers


def message_id_of(form: Mapping[str, str], headers: Mapping[str, str]) -> str:
    value = form.get("Message-Id") or form.get("Message-ID") or headers.get("message-id")
    if not value or not value.strip().strip("<>").strip():
        raise MalformedPayload("the mail has no Message-Id")
    return value.strip().strip("<>").strip()


def _sent_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None  # a garbled Date header must not cost the guest's message


def parse_inbound(route: ChannelRoute, form: Mapping[str, str]) -> list[ParsedEvent]:
    headers = _headers(form)
    message_id = message_id_of(form, headers)
    name, address = parseaddr(form.get("from") or headers.get("from") or "")
    sender = address or form.get("sender") or ""
    if "@" not in sender:
        raise MalformedPayload("neither 'from' nor 'sender' holds an e-mail address")
    text = form.get("stripped-text") or form.get("body-plain") or None
    raw: dict[str, Any] = {k: v for k, v in form.items() if k not in ("signature", "token")}
    return [
        InboundMessageReceived(
            tenant_id=route.tenant_id,
            provider=Provider.EMAIL,
            channel_id=route.channel_id,
            provider_event_id=message_id,
            provider_message_id=message_id,
            sender_handle=sender.lower(),
            sender_name=name or None,
            subject=form.get("subject") or headers.get("subject") or None,
            text=text,
            sent_at=_sent_at(form.get("Date") or headers.get("date")),
            raw=raw,
        )
    ]


def message_id_for(idempotency_key: str, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "frontdesk.invalid"
    return f"<{idempotency_key}@{domain}>"


class EmailSender:
    """Sends over the channel's SMTP server; ``timeout`` bounds each connection."""

    def __init__(self, *, timeout: float = 30.0) -> None:
        self._timeout = timeout

    async def send(
        self,
        *,
        route: ChannelRoute,
        to: str,
        text: str,
        idempotency_key: str,
        template: TemplateRef | None = None,
    ) -> SendResult:
        creds = route.credentials
        from_address = creds.get("from_address") or route.address
        message = EmailMessage()
        message["From"] = from_address
        message["To"] = to
        message["Subject"] = (
            creds.get("subject")
            or (template.name if template else "")
            or (f"Message from {from_address}")
        )
        message["Date"] = format_datetime(datetime.now().astimezone())
        message["Message-ID"] = message_id_for(idempotency_key, from_address)
        message.set_content(text)
        # smtp_tls: "tls" (implicit, port 465), "starttls" (default, port 587) or "none".
        tls = (creds.get("smtp_tls") or "starttls").lower()
        try:
            port = int(creds.get("smtp_port") or (465 if tls == "tls" else 587))
        except ValueError as exc:
            raise PermanentSendError("smtp_port is not a number") from exc
        try:
            await aiosmtplib.send(
                message,
                hostname=credential(route, "smtp_host"),
                port=port,
                username=creds.get("smtp_username") or None,
                password=creds.get("smtp_password") or None,
                use_tls=tls == "tls",
                start_tls=tls == "starttls",
                timeout=self._timeout,
            )
        except aiosmtplib.SMTPResponseException as exc:
            # 4xx is the server's "try later"; 5xx is final.
            if 400 <= exc.code < 500:
                raise RetryableSendError(f"smtp {exc.code}: {exc.message}") from exc
            raise PermanentSendError(f"smtp {exc.code}: {exc.message}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refusal.code for refusal in exc.recipients]
            if codes and all(400 <= code < 500 for code in codes):
                raise RetryableSendError(f"smtp deferred recipients: {codes}") from exc
            raise PermanentSendError(f"smtp refused recipients: {codes}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise RetryableSendError(f"smtp: {type(exc).__name__}: {exc}") from exc
        return SendResult(provider_message_id=message["Message-ID"].strip("<>"))
