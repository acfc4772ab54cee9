"""E-mail: Mailgun inbound routes in, SMTP out.

Inbound is a Mailgun route's ``forward()`` POST (form-encoded, or multipart when the mail has
attachments) with ``sender, from, recipient, subject, body-plain, stripped-text, Message-Id,
message-headers, timestamp, token, signature``. The signature is the hex HMAC-SHA256 of
``timestamp + token`` keyed with the domain's webhook signing key. The dedup key is the mail's
Message-ID.

Freshness: Mailgun retries a route POST that was not answered 200 (or 406) for 8 hours, with the
original timestamp, token and signature. So a timestamp up to ``MAX_AGE_SECONDS`` (those 8 hours
and some slack) old is accepted, one more than ``MAX_SKEW_SECONDS`` ahead of our clock is not,
and a token is accepted once: the ingress remembers claimed tokens for twice
``MAX_AGE_SECONDS``, longer than a token's timestamp can stay acceptable (bounded in count;
see ``workers.ingress.replay``). A token replayed past that memory (another ingress
process, a restart) is still stored once, by the Message-ID dedup in intake.

Attachments become media rows with their file name, MIME type and size. There is no object
store here, and the bytes must not travel through the broker, so they are not kept:
- a ``forward()`` POST carries each file as a multipart part ``attachment-N``; its media URL is
  ``mailgun-attachment:<Message-ID>/<part>``, naming the part of the mail, which stays in the
  recipient mailbox (and Mailgun's logs) for staff to open;
- a ``store(notify=...)`` POST lists them in the ``attachments`` JSON field with Mailgun's own
  URL for each (kept by Mailgun for 3 days), which becomes the media URL.
The first file is the event's ``media``, the others its ``attachments``.

SendGrid Inbound Parse could later feed the same route: it posts multipart fields ``from, to,
subject, text, html, headers, envelope`` and signs nothing itself, so it would be configured with
basic auth in the webhook URL (or the signed-webhook add-on's ECDSA public key) as the secret,
and the parser would read ``headers`` for the Message-ID.

Outbound mail goes over SMTP with aiosmtplib; its Message-ID is derived from the idempotency key,
so the receiving side (and our own inbound parsing of bounces and replies) sees one identity.
A reply answers the guest's last mail: ``Re: <its subject>``, ``In-Reply-To`` and ``References``
naming its Message-ID, so mail clients thread it. A connection lost once the server may have the
mail is ``UncertainSendError``: the mail is never handed over twice.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr, parsedate_to_datetime
from typing import Any

import aiosmtplib
import httpx

from domain.channels import ChannelRoute
from domain.events import ContentType, InboundMessageReceived, Media, Provider
from workers.providers.base import (
    MalformedPayload,
    OutboundMessage,
    OutboundSender,
    ParsedEvent,
    PermanentSendError,
    RetryableSendError,
    SendResult,
    UncertainSendError,
    UploadedFile,
    WebhookForbidden,
    WebhookUnauthorized,
    credential,
    from_channel,
    require_secret,
    secrets_equal,
    storable,
)
from workers.providers.http import SenderSettings
from workers.providers.spec import (
    BodyFormat,
    ProviderSpec,
    SingleUseToken,
    WebhookDoc,
    WebhookRequest,
)

# Mailgun's retry schedule for route POSTs spans 8 hours; the slack covers the last retry's
# own delay in Mailgun's queue.
MAX_AGE_SECONDS = 8 * 3600.0 + 900.0
# How far ahead of our clock a timestamp may be (clock skew between Mailgun and us).
MAX_SKEW_SECONDS = 300.0
MAX_ATTACHMENTS = 20
_CONTENT_TYPES = {
    "image": ContentType.IMAGE,
    "audio": ContentType.AUDIO,
    "video": ContentType.VIDEO,
}


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
    if not current - signed_at <= MAX_AGE_SECONDS:
        raise WebhookForbidden("timestamp is older than Mailgun's retry window")
    if not signed_at - current <= MAX_SKEW_SECONDS:
        raise WebhookForbidden("timestamp is more than five minutes ahead of now")


def _headers(form: Mapping[str, str]) -> dict[str, str]:
    """``message-headers`` is a JSON list of [name, value] pairs; the first of a name wins."""
    raw = form.get("message-headers")
    if not raw:
        return {}
    headers: dict[str, str] = {}
    for pair in _json_list(raw, "message-headers", "[name, value] pairs"):
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
            headers.setdefault(pair[0].lower(), pair[1])
    return headers


def _json_list(value: str, field: str, items: str) -> list[Any]:
    """The form field ``field``, a JSON list (of ``items``, as its error says)."""
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError) as exc:
        raise MalformedPayload(f"{field} is not JSON") from exc
    if not isinstance(parsed, list):
        raise MalformedPayload(f"{field} must be a list of {items}")
    return parsed


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


def parse_inbound(
    route: ChannelRoute, form: Mapping[str, str], files: Sequence[UploadedFile] = ()
) -> list[ParsedEvent]:
    """A mail from a route; ``files`` are the multipart parts that were files (metadata)."""
    form = storable(dict(form))
    headers = _headers(form)
    message_id = message_id_of(form, headers)
    name, address = parseaddr(form.get("from") or headers.get("from") or "")
    sender = address or form.get("sender") or ""
    if "@" not in sender:
        raise MalformedPayload("neither 'from' nor 'sender' holds an e-mail address")
    text = form.get("stripped-text") or form.get("body-plain") or None
    raw: dict[str, Any] = {k: v for k, v in form.items() if k not in ("signature", "token")}
    media = [*_forwarded(message_id, files), *_stored(form.get("attachments"))]
    if len(media) > MAX_ATTACHMENTS:
        raise MalformedPayload(f"more than {MAX_ATTACHMENTS} attachments")
    fields: dict[str, Any] = {}
    if media:
        kind = (media[0].mime_type or "").partition("/")[0].lower()
        fields.update(
            content_type=_CONTENT_TYPES.get(kind, ContentType.DOCUMENT),
            media=media[0],
            attachments=tuple(media[1:]),
        )
    return [
        InboundMessageReceived(
            **from_channel(route),
            provider_event_id=message_id,
            provider_message_id=message_id,
            sender_handle=sender.lower(),
            sender_name=name or None,
            subject=form.get("subject") or headers.get("subject") or None,
            text=text,
            sent_at=_sent_at(form.get("Date") or headers.get("date")),
            raw=raw,
            **fields,
        )
    ]


def _forwarded(message_id: str, files: Sequence[UploadedFile]) -> list[Media]:
    """A ``forward()`` POST's file parts: metadata only (see the module docstring)."""
    return [
        Media(
            url=storable(f"mailgun-attachment:{message_id}/{file.field}"),
            mime_type=storable(file.mime_type) if file.mime_type else None,
            file_name=storable(file.file_name) if file.file_name else None,
            size_bytes=file.size_bytes,
        )
        for file in files
    ]


def _stored(value: str | None) -> list[Media]:
    """A ``store()`` notification's ``attachments``: JSON objects with Mailgun's URL each."""
    if not value:
        return []
    media: list[Media] = []
    for item in storable(_json_list(value, "attachments", "objects")):
        url = item.get("url") if isinstance(item, dict) else None
        if not isinstance(url, str) or not url:
            raise MalformedPayload("every attachment needs a url")
        size = item.get("size")
        mime_type, file_name = item.get("content-type"), item.get("name")
        media.append(
            Media(
                url=url,
                mime_type=mime_type if isinstance(mime_type, str) and mime_type else None,
                file_name=file_name if isinstance(file_name, str) and file_name else None,
                size_bytes=size
                if isinstance(size, int) and not isinstance(size, bool) and size >= 0
                else None,
            )
        )
    return media


def reply_subject(subject: str) -> str:
    """``Re: <subject>``, once: a subject already marked as a reply is kept."""
    return subject if subject[:3].lower() == "re:" else f"Re: {subject}"


def message_id_for(idempotency_key: str, from_address: str) -> str:
    domain = from_address.rpartition("@")[2] or "frontdesk.invalid"
    return f"<{idempotency_key}@{domain}>"


class EmailSender(OutboundSender):
    """Sends over the channel's SMTP server; ``settings.smtp_timeout`` bounds each connection.
    It takes the shared HTTP client like every sender, and has no use for it."""

    def __init__(
        self, client: httpx.AsyncClient | None = None, settings: SenderSettings | None = None
    ) -> None:
        del client
        self._timeout = (settings or SenderSettings()).smtp_timeout

    async def deliver(self, outbound: OutboundMessage) -> SendResult:
        # A bot question's options are numbered in the text: a mail has no buttons.
        route, template, reply_to = outbound.route, outbound.template, outbound.reply_to
        creds = route.credentials
        from_address = creds.get("from_address") or route.address
        mail = EmailMessage()
        mail["From"] = from_address
        mail["To"] = outbound.to
        answered = " ".join((reply_to.subject or "").split()) if reply_to else ""
        mail["Subject"] = (
            reply_subject(answered)
            if answered
            else (
                creds.get("subject")
                or (template.name if template else "")
                or (f"Message from {from_address}")
            )
        )
        mail["Date"] = format_datetime(datetime.now().astimezone())
        mail["Message-ID"] = message_id_for(outbound.idempotency_key, from_address)
        parent = (reply_to.message_id or "").strip().strip("<>") if reply_to else ""
        if parent and not any(ch.isspace() or ch in "<>" for ch in parent):
            # The guest's mail client threads the answer under the message it answers.
            mail["In-Reply-To"] = f"<{parent}>"
            mail["References"] = f"<{parent}>"
        mail.set_content(outbound.text)
        # smtp_tls: "tls" (implicit, port 465), "starttls" (default, port 587) or "none".
        tls = (creds.get("smtp_tls") or "starttls").lower()
        try:
            port = int(creds.get("smtp_port") or (465 if tls == "tls" else 587))
        except ValueError as exc:
            raise PermanentSendError("smtp_port is not a number") from exc
        try:
            await aiosmtplib.send(
                mail,
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
        except aiosmtplib.SMTPConnectError as exc:
            raise RetryableSendError(f"smtp: {type(exc).__name__}: {exc}") from exc
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            # The mail may have been handed over with the answer lost: never send it again.
            raise UncertainSendError(f"smtp: {type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:
            raise RetryableSendError(f"smtp: {type(exc).__name__}: {exc}") from exc
        return SendResult(provider_message_id=mail["Message-ID"].strip("<>"))


def _verify_signed_fields(route: ChannelRoute, webhook: WebhookRequest) -> None:
    form = webhook.form
    verify(
        route,
        timestamp=form.get("timestamp"),
        token=form.get("token", ""),
        signature=form.get("signature"),
    )


def _parse_mail(route: ChannelRoute, webhook: WebhookRequest) -> list[ParsedEvent]:
    return parse_inbound(route, webhook.form, webhook.files)


def _token(webhook: WebhookRequest) -> str:
    """Mailgun's token, accepted once (see the module docstring)."""
    return webhook.form.get("token", "")


SPEC = ProviderSpec(
    provider=Provider.EMAIL,
    route="email",
    body_format=BodyFormat.FORM,
    verify=_verify_signed_fields,
    parse_inbound=_parse_mail,
    sender=EmailSender,
    doc=WebhookDoc(
        summary="Mailgun inbound mail, signed with HMAC-SHA256 of timestamp and a single-use "
        "token.",
        body="A Mailgun inbound route forward (urlencoded, or multipart with attachments).",
        fields={
            "sender": "Envelope sender.",
            "from": "From header.",
            "recipient": "Envelope recipient (the channel's mailbox).",
            "subject": "Subject.",
            "body-plain": "Text body.",
            "stripped-text": "Text body without quoted parts and signature.",
            "Message-Id": "Message-ID header, the dedup key.",
            "message-headers": "JSON list of [name, value] header pairs.",
            "timestamp": "Unix time of signing.",
            "token": "Random, single-use token.",
            "signature": "Hex HMAC-SHA256 of timestamp + token with the signing key.",
        },
        multipart=True,
    ),
    # Tokens older than the timestamp window are refused anyway; keep them that long.
    single_use_token=SingleUseToken(of=_token, remember_seconds=2 * MAX_AGE_SECONDS),
)
