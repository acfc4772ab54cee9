"""Providers' documented example payloads, lightly trimmed, with their sources."""

from __future__ import annotations

from typing import Any

# https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/TextMessage/
GREEN_API_TEXT: dict[str, Any] = {
    "typeWebhook": "incomingMessageReceived",
    "instanceData": {"idInstance": 1234, "wid": "11001234567@c.us", "typeInstance": "whatsapp"},
    "timestamp": 1588091580,
    "idMessage": "F7AEC1B7086ECDC7E6E45923F5EDB825",
    "senderData": {
        "chatId": "79001234568@c.us",
        "sender": "79001234568@c.us",
        "chatName": "GREEN-API",
        "senderName": "GREEN-API",
        "senderContactName": "GREEN-API",
    },
    "messageData": {
        "typeMessage": "textMessage",
        "textMessageData": {"textMessage": "I use GREEN-API to send this message to you!"},
    },
}

# https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/ImageMessage/
GREEN_API_IMAGE: dict[str, Any] = {
    **GREEN_API_TEXT,
    "idMessage": "4B4AB9A0BA5F1FB8E1DE32F0F9BD5D27",
    "messageData": {
        "typeMessage": "imageMessage",
        "fileMessageData": {
            "downloadUrl": "https://sw-media-out.storage1.green-api.com/1234/2b5d.jpg",
            "caption": "Our room",
            "fileName": "2b5d.jpg",
            "jpegThumbnail": "/9j/4AAQSkZJRgABAQAAAQABAAD/",
            "mimeType": "image/jpeg",
        },
    },
}

# https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/LocationMessage/
GREEN_API_LOCATION: dict[str, Any] = {
    **GREEN_API_TEXT,
    "idMessage": "9C2E5B3F6F1A",
    "messageData": {
        "typeMessage": "locationMessage",
        "locationMessageData": {
            "nameLocation": "Kremlin",
            "address": "Moscow",
            "jpegThumbnail": "/9j/4AAQSkZJRgABAQAAAQABAAD/",
            "latitude": 55.7522200,
            "longitude": 37.6155600,
        },
    },
}

# https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/ContactMessage/
GREEN_API_CONTACT: dict[str, Any] = {
    **GREEN_API_TEXT,
    "idMessage": "5A0C1B2D3E4F",
    "messageData": {
        "typeMessage": "contactMessage",
        "contactMessageData": {
            "displayName": "GREEN-API",
            "vcard": "BEGIN:VCARD\nVERSION:3.0\nN:;GREEN-API;;;\nFN:GREEN-API\n"
            "TEL;type=CELL;type=VOICE;waid=79001234568:+7 900 123-45-68\nEND:VCARD",
        },
    },
}

# https://green-api.com/en/docs/api/receiving/notifications-format/outgoing-message/OutgoingMessageStatus/
GREEN_API_STATUS: dict[str, Any] = {
    "typeWebhook": "outgoingMessageStatus",
    "chatId": "11001234567@c.us",
    "instanceData": {"idInstance": 1234, "wid": "11001234567@c.us", "typeInstance": "whatsapp"},
    "timestamp": 1587129319,
    "idMessage": "BAE5F4886F5E8DD1",
    "status": "delivered",
    "sendByApi": True,
}

# https://green-api.com/en/docs/api/receiving/notifications-format/StateInstanceChanged/
GREEN_API_STATE: dict[str, Any] = {
    "typeWebhook": "stateInstanceChanged",
    "instanceData": {"idInstance": 1234, "wid": "11001234567@c.us", "typeInstance": "whatsapp"},
    "timestamp": 1588091580,
    "stateInstance": "authorized",
}

WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="

# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages
WHATSAPP_TEXT: dict[str, Any] = {
    "object": "whatsapp_business_account",
    "entry": [
        {
            "id": "102290129340398",
            "changes": [
                {
                    "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {
                            "display_phone_number": "15550783881",
                            "phone_number_id": "106540352242922",
                        },
                        "contacts": [
                            {"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}
                        ],
                        "messages": [
                            {
                                "from": "16505551234",
                                "id": WAMID,
                                "timestamp": "1749416383",
                                "type": "text",
                                "text": {"body": "Does it come in another color?"},
                            }
                        ],
                    },
                    "field": "messages",
                }
            ],
        }
    ],
}


def whatsapp_value(**value: Any) -> dict[str, Any]:
    """A notification around one change value, in the documented envelope."""
    metadata = {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "value": {"messaging_product": "whatsapp", "metadata": metadata, **value},
                        "field": "messages",
                    }
                ],
            }
        ],
    }


# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/image
WHATSAPP_IMAGE_MESSAGE: dict[str, Any] = {
    "from": "16505551234",
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUQyQzA0QUUxRjQ4RTIzM0JEAA==",
    "timestamp": "1750090702",
    "type": "image",
    "image": {
        "caption": "Is this the right bed?",
        "mime_type": "image/jpeg",
        "sha256": "JBUhgS6gB+N5S3f7ITvGTGpQWpMW1e2Ns0kBsrXyUAM=",
        "id": "1003383421387256",
    },
}

# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/location
WHATSAPP_LOCATION_MESSAGE: dict[str, Any] = {
    "from": "16505551234",
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUY1RkI0RDg4MzBFNjFBRkEwAA==",
    "timestamp": "1750024585",
    "type": "location",
    "location": {
        "address": "1 Hacker Way, Menlo Park, CA 94025",
        "latitude": 37.4851745,
        "longitude": -122.1484241,
        "name": "Meta Headquarters",
    },
}

# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/contacts
WHATSAPP_CONTACTS_MESSAGE: dict[str, Any] = {
    "from": "16505551234",
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUE3M0NGNzg2NDQ3NjE0NjMxAA==",
    "timestamp": "1750025104",
    "type": "contacts",
    "contacts": [
        {
            "name": {
                "first_name": "Barbara",
                "last_name": "Johnson",
                "formatted_name": "Barbara J. Johnson",
            },
            "phones": [{"phone": "+1 (415) 555-0123", "wa_id": "14155550123", "type": "MOBILE"}],
        }
    ],
}

# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/status
WHATSAPP_STATUS_DELIVERED: dict[str, Any] = {
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3NDIzRkQ5QzY0QjE3QzE0NjgA",
    "status": "delivered",
    "timestamp": "1750263773",
    "recipient_id": "16505551234",
    "pricing": {"billable": True, "pricing_model": "PMP", "category": "utility"},
}
WHATSAPP_STATUS_FAILED: dict[str, Any] = {
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBIyQUQ0NkIyNDA5NjJBOEJCAA==",
    "status": "failed",
    "timestamp": "1750263774",
    "recipient_id": "16505551234",
    "errors": [
        {
            "code": 131050,
            "title": "Unable to deliver the message. This recipient has chosen to stop receiving "
            "marketing messages on WhatsApp from your business",
            "message": "Unable to deliver the message. This recipient has chosen to stop "
            "receiving marketing messages on WhatsApp from your business",
            "error_data": {"details": "Unable to deliver the message."},
        }
    ],
}

# https://www.twilio.com/docs/messaging/guides/webhook-request (parameters of an incoming SMS/MMS)
TWILIO_INBOUND: dict[str, str] = {
    "ToCountry": "US",
    "ToState": "CA",
    "SmsMessageSid": "SMd26c1a5b9a0fdc4f4a6e2d0c2a6f9b31",
    "NumMedia": "0",
    "ToCity": "SAN FRANCISCO",
    "FromZip": "94105",
    "SmsSid": "SMd26c1a5b9a0fdc4f4a6e2d0c2a6f9b31",
    "FromState": "CA",
    "SmsStatus": "received",
    "FromCity": "SAN FRANCISCO",
    "Body": "Is late checkout possible?",
    "FromCountry": "US",
    "To": "+14155552671",
    "ToZip": "94105",
    "NumSegments": "1",
    "MessageSid": "SMd26c1a5b9a0fdc4f4a6e2d0c2a6f9b31",
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "From": "+14155550100",
    "ApiVersion": "2010-04-01",
}
TWILIO_MMS: dict[str, str] = {
    **TWILIO_INBOUND,
    "MessageSid": "MM4b1a7c93f0b5c9f3e2d1a0b9c8d7e6f5",
    "SmsMessageSid": "MM4b1a7c93f0b5c9f3e2d1a0b9c8d7e6f5",
    "SmsSid": "MM4b1a7c93f0b5c9f3e2d1a0b9c8d7e6f5",
    "Body": "",
    "NumMedia": "1",
    "MediaContentType0": "image/jpeg",
    "MediaUrl0": "https://api.twilio.com/2010-04-01/Accounts/ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
    "/Messages/MM4b1a7c93f0b5c9f3e2d1a0b9c8d7e6f5/Media/ME0123456789abcdef0123456789abcdef",
}

# https://www.twilio.com/docs/messaging/guides/track-outbound-message-status (status callback)
TWILIO_STATUS: dict[str, str] = {
    "SmsSid": "SM2a7b3c4d5e6f708192a3b4c5d6e7f809",
    "SmsStatus": "undelivered",
    "MessageStatus": "undelivered",
    "To": "+15558675310",
    "MessageSid": "SM2a7b3c4d5e6f708192a3b4c5d6e7f809",
    "AccountSid": "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    "From": "+15017122661",
    "ApiVersion": "2010-04-01",
    "ErrorCode": "30003",
}

# https://core.telegram.org/bots/api#update and #message (a private chat text message)
TELEGRAM_TEXT: dict[str, Any] = {
    "update_id": 99737762,
    "message": {
        "message_id": 3746,
        "from": {
            "id": 993903016,
            "is_bot": False,
            "first_name": "Mher",
            "last_name": "Movsisyan",
            "username": "Movsisyannn",
            "language_code": "en",
        },
        "chat": {
            "id": 993903016,
            "first_name": "Mher",
            "last_name": "Movsisyan",
            "username": "Movsisyannn",
            "type": "private",
        },
        "date": 1639926765,
        "text": "Sample message contents",
    },
}
TELEGRAM_EDITED: dict[str, Any] = {
    "update_id": 99737763,
    "edited_message": {**TELEGRAM_TEXT["message"], "edit_date": 1639926800, "text": "Edited"},
}
# https://core.telegram.org/bots/api#photosize
TELEGRAM_PHOTO: dict[str, Any] = {
    "update_id": 99737764,
    "message": {
        **{k: v for k, v in TELEGRAM_TEXT["message"].items() if k != "text"},
        "photo": [
            {
                "file_id": "AgAD-small",
                "file_unique_id": "s1",
                "width": 90,
                "height": 67,
                "file_size": 1254,
            },
            {
                "file_id": "AgAD-large",
                "file_unique_id": "l1",
                "width": 1280,
                "height": 960,
                "file_size": 89012,
            },
        ],
        "caption": "The view",
    },
}
# https://core.telegram.org/bots/api#location and #contact
TELEGRAM_LOCATION: dict[str, Any] = {
    "update_id": 99737765,
    "message": {
        **{k: v for k, v in TELEGRAM_TEXT["message"].items() if k != "text"},
        "location": {"latitude": 40.177, "longitude": 44.512},
    },
}
TELEGRAM_CONTACT: dict[str, Any] = {
    "update_id": 99737766,
    "message": {
        **{k: v for k, v in TELEGRAM_TEXT["message"].items() if k != "text"},
        "contact": {"phone_number": "+37499123456", "first_name": "Anna", "user_id": 123},
    },
}
TELEGRAM_CALLBACK: dict[str, Any] = {
    "update_id": 99737767,
    "callback_query": {
        "id": "545116134167861810",
        "from": {"id": 126919740, "is_bot": False, "first_name": "A"},
        "chat_instance": "1",
        "data": "x",
    },
}

# https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/receive-http
MAILGUN_FIELDS: dict[str, str] = {
    "recipient": "frontdesk@hotel.example",
    "sender": "bob@example.com",
    "from": "Bob Lee <bob@example.com>",
    "subject": "Parking at the hotel",
    "body-plain": "Hi, is there parking?\n\n> earlier mail\n",
    "stripped-text": "Hi, is there parking?",
    "Message-Id": "<CAF=abc123@mail.example.com>",
    "Date": "Mon, 15 Apr 2013 17:20:13 -0700",
    "message-headers": '[["Received", "by luna.mailgun.net"], ["Message-Id", '
    '"<CAF=abc123@mail.example.com>"], ["Subject", "Parking at the hotel"]]',
}

# https://green-api.com/en/docs/api/receiving/notifications-format/incoming-message/EditedMessage/
GREEN_API_EDITED: dict[str, Any] = {
    **GREEN_API_TEXT,
    "timestamp": 1733146115,
    "idMessage": "BAE597DC5CB134F7",
    "messageData": {
        "typeMessage": "editedMessage",
        "editedMessageData": {
            "textMessage": "I meant Friday, not Thursday",
            "stanzaId": "F7AEC1B7086ECDC7E6E45923F5EDB825",
        },
    },
}

# https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/store-retreive
# (a store(notify=...) POST lists the stored attachments with Mailgun's URL for each)
MAILGUN_STORED_ATTACHMENTS = (
    '[{"url": "https://storage.eu.mailgun.net/v3/domains/hotel.example/messages/AgEF/attachments/0",'
    ' "content-type": "application/pdf", "name": "booking.pdf", "size": 48213}]'
)

# https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/edit
WHATSAPP_EDIT_MESSAGE: dict[str, Any] = {
    "from": "16505551234",
    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUVESVQ=",
    "timestamp": "1739321024",
    "type": "edit",
    "edit": {
        "original_message_id": WAMID,
        "message": {
            "context": {"id": WAMID},
            "type": "text",
            "text": {"body": "Two towels, not three"},
        },
    },
}
