"""OpenAPI descriptions of the webhook bodies, which the routes read raw to check signatures."""

from __future__ import annotations

from typing import Any

from workers.webhook_samples import whatsapp_example

_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Body is not valid JSON or form data."},
    401: {"description": "No signature was presented."},
    403: {"description": "The signature is wrong, stale or replayed."},
    404: {"description": "Unknown or disabled channel, or a channel of another provider."},
    413: {"description": "Body larger than the configured limit."},
    422: {"description": "Body does not match the provider's documented format."},
    503: {"description": "Broker unavailable; retry after the Retry-After header's seconds."},
}


def json_body(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}, "example": example}},
        }
    }


def form_body(
    description: str, fields: dict[str, str], *, multipart: bool = False
) -> dict[str, Any]:
    properties = {name: {"type": "string", "description": doc} for name, doc in fields.items()}
    schema = {"type": "object", "properties": properties}
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    if multipart:
        content["multipart/form-data"] = {"schema": schema}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def responses() -> dict[int | str, dict[str, Any]]:
    return dict(_REFUSALS)


GREEN_API = json_body(
    "A Green API webhook (incomingMessageReceived, outgoingMessageStatus; others ignored).",
    {
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {"idInstance": 1234, "wid": "11001234567@c.us", "typeInstance": "whatsapp"},
        "timestamp": 1588091580,
        "idMessage": "F7AEC1B7086ECDC7E6E45923F5EDB825",
        "senderData": {"chatId": "79001234568@c.us", "sender": "79001234568@c.us"},
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "Hi"}},
    },
)

WHATSAPP = json_body(
    "A WhatsApp Cloud API notification: entries of changes with messages and statuses.",
    whatsapp_example(),
)

TELEGRAM = json_body(
    "A Telegram Update (message and edited_message handled; others ignored).",
    {
        "update_id": 99737762,
        "message": {
            "message_id": 3746,
            "from": {"id": 993903016, "is_bot": False, "first_name": "Mher"},
            "chat": {"id": 993903016, "type": "private"},
            "date": 1639926765,
            "text": "Sample message contents",
        },
    },
)

TWILIO_INBOUND = form_body(
    "Twilio's incoming message webhook.",
    {
        "MessageSid": "Message SID, the dedup key.",
        "From": "Sender's phone number (E.164).",
        "To": "The channel's number.",
        "Body": "Message text.",
        "NumMedia": "Number of media items.",
        "MediaUrl0": "URL of the first media item.",
        "MediaContentType0": "MIME type of the first media item.",
    },
)

TWILIO_STATUS = form_body(
    "Twilio's status callback for an outbound message.",
    {
        "MessageSid": "Message SID of the outbound message.",
        "MessageStatus": "queued, sent, delivered, undelivered, failed or read.",
        "ErrorCode": "Twilio error code when undelivered or failed.",
    },
)

EMAIL = form_body(
    "A Mailgun inbound route forward (urlencoded, or multipart with attachments).",
    {
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
)
