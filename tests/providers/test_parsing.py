"""Each provider's documented payloads become the normalized events, with the right dedup keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pydantic
import pytest

from domain.events import (
    ContentType,
    DeliveryStatus,
    DeliveryStatusReceived,
    InboundMessageReceived,
    Provider,
)
from tests.providers import payloads
from tests.providers.factories import make_route
from workers.providers import email, green_api, telegram, twilio_sms, whatsapp_cloud
from workers.providers.base import MalformedPayload, UploadedFile


def only(events: list[Any], kind: type) -> Any:
    assert len(events) == 1
    assert isinstance(events[0], kind)
    return events[0]


class TestGreenApi:
    route = make_route(Provider.GREEN_API)

    def test_text_message(self) -> None:
        event = only(
            green_api.parse_inbound(self.route, payloads.GREEN_API_TEXT), InboundMessageReceived
        )
        assert event.provider_event_id == "1234:79001234568@c.us:F7AEC1B7086ECDC7E6E45923F5EDB825"
        assert event.provider_message_id == "F7AEC1B7086ECDC7E6E45923F5EDB825"
        assert event.sender_handle == "+79001234568"
        assert event.sender_name == "GREEN-API"
        assert event.text == "I use GREEN-API to send this message to you!"
        assert event.sent_at == datetime.fromtimestamp(1588091580, UTC)
        assert event.tenant_id == self.route.tenant_id
        assert event.channel_id == self.route.channel_id

    def test_image_message(self) -> None:
        event = only(
            green_api.parse_inbound(self.route, payloads.GREEN_API_IMAGE), InboundMessageReceived
        )
        assert event.content_type is ContentType.IMAGE
        assert event.media is not None
        assert event.media.url.endswith("/2b5d.jpg")
        assert event.media.mime_type == "image/jpeg"
        assert event.text == "Our room"

    def test_location_message(self) -> None:
        event = only(
            green_api.parse_inbound(self.route, payloads.GREEN_API_LOCATION), InboundMessageReceived
        )
        assert event.location is not None
        assert (event.location.latitude, event.location.longitude) == (55.75222, 37.61556)
        assert event.location.name == "Kremlin"

    def test_contact_message(self) -> None:
        event = only(
            green_api.parse_inbound(self.route, payloads.GREEN_API_CONTACT), InboundMessageReceived
        )
        assert event.content_type is ContentType.CONTACT
        assert event.contact is not None
        assert event.contact.name == "GREEN-API"
        assert event.contact.phones == ("+7 900 123-45-68",)

    def test_status(self) -> None:
        event = only(
            green_api.parse_inbound(self.route, payloads.GREEN_API_STATUS), DeliveryStatusReceived
        )
        assert event.status is DeliveryStatus.DELIVERED
        assert event.provider_message_id == "BAE5F4886F5E8DD1"
        assert event.provider_event_id == "1234:11001234567@c.us:BAE5F4886F5E8DD1:delivered"

    def test_failed_status_keeps_its_reason(self) -> None:
        payload = {
            **payloads.GREEN_API_STATUS,
            "status": "noActiveSession",
            "description": "closed",
        }
        event = only(green_api.parse_inbound(self.route, payload), DeliveryStatusReceived)
        assert event.status is DeliveryStatus.FAILED
        assert (event.error_code, event.error_message) == ("noActiveSession", "closed")

    def test_state_change_is_ignored(self) -> None:
        assert green_api.parse_inbound(self.route, payloads.GREEN_API_STATE) == []

    def test_another_instance_is_refused(self) -> None:
        route = make_route(Provider.GREEN_API, id_instance="999")
        with pytest.raises(MalformedPayload):
            green_api.parse_inbound(route, payloads.GREEN_API_TEXT)

    def test_missing_sender_is_a_validation_error(self) -> None:
        payload = {k: v for k, v in payloads.GREEN_API_TEXT.items() if k != "senderData"}
        with pytest.raises(pydantic.ValidationError):
            green_api.parse_inbound(self.route, payload)

    def test_edited_message(self) -> None:
        event = only(
            green_api.parse_inbound(self.route, payloads.GREEN_API_EDITED), InboundMessageReceived
        )
        # The edit is its own webhook (its idMessage) about the message named by stanzaId.
        assert event.provider_event_id == "1234:79001234568@c.us:BAE597DC5CB134F7"
        assert event.provider_message_id == "F7AEC1B7086ECDC7E6E45923F5EDB825"
        assert event.text == "I meant Friday, not Thursday"
        assert event.edited_at == datetime.fromtimestamp(1733146115, UTC)

    @pytest.mark.parametrize("shape", [{"a": 1}, ["textMessage"], 1, None, True])
    def test_type_message_of_another_json_shape_is_malformed(self, shape: Any) -> None:
        payload = {
            **payloads.GREEN_API_TEXT,
            "messageData": {**payloads.GREEN_API_TEXT["messageData"], "typeMessage": shape},
        }
        with pytest.raises(MalformedPayload, match="typeMessage"):
            green_api.parse_inbound(self.route, payload)


class TestWhatsAppCloud:
    route = make_route(Provider.WHATSAPP_CLOUD)

    def test_text_message(self) -> None:
        event = only(
            whatsapp_cloud.parse_inbound(self.route, payloads.WHATSAPP_TEXT), InboundMessageReceived
        )
        wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
        assert event.provider_event_id == event.provider_message_id == wamid
        assert event.sender_handle == "+16505551234"
        assert event.sender_name == "Sheena Nelson"
        assert event.text == "Does it come in another color?"
        assert event.sent_at == datetime.fromtimestamp(1749416383, UTC)

    def test_several_messages_and_statuses_in_one_notification(self) -> None:
        payload = payloads.whatsapp_value(
            messages=[
                payloads.WHATSAPP_IMAGE_MESSAGE,
                payloads.WHATSAPP_LOCATION_MESSAGE,
                payloads.WHATSAPP_CONTACTS_MESSAGE,
            ],
            statuses=[payloads.WHATSAPP_STATUS_DELIVERED, payloads.WHATSAPP_STATUS_FAILED],
        )
        image, location, contact, delivered, failed = whatsapp_cloud.parse_inbound(
            self.route, payload
        )
        assert image.content_type is ContentType.IMAGE
        assert image.media.url == "whatsapp-media:1003383421387256"
        assert image.media.mime_type == "image/jpeg"
        assert image.text == "Is this the right bed?"
        assert location.location.name == "Meta Headquarters"
        assert location.location.latitude == pytest.approx(37.4851745)
        assert contact.contact.name == "Barbara J. Johnson"
        assert contact.contact.phones == ("+1 (415) 555-0123",)
        assert delivered.status is DeliveryStatus.DELIVERED
        assert (
            delivered.provider_event_id == f"{payloads.WHATSAPP_STATUS_DELIVERED['id']}:delivered"
        )
        assert failed.status is DeliveryStatus.FAILED
        assert failed.error_code == "131050"

    def test_other_phone_numbers_of_the_app_are_skipped(self) -> None:
        route = make_route(Provider.WHATSAPP_CLOUD, phone_number_id="999")
        assert whatsapp_cloud.parse_inbound(route, payloads.WHATSAPP_TEXT) == []

    def test_entry_is_required(self) -> None:
        with pytest.raises(pydantic.ValidationError):
            whatsapp_cloud.parse_inbound(self.route, {"object": "whatsapp_business_account"})

    def test_edit(self) -> None:
        notification = payloads.whatsapp_value(
            contacts=[{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            messages=[payloads.WHATSAPP_EDIT_MESSAGE],
        )
        event = only(whatsapp_cloud.parse_inbound(self.route, notification), InboundMessageReceived)
        # Its own wamid is the dedup key; the message it edits is the original one.
        assert event.provider_event_id == payloads.WHATSAPP_EDIT_MESSAGE["id"]
        assert event.provider_message_id == payloads.WAMID
        assert event.text == "Two towels, not three"
        assert event.edited_at == datetime.fromtimestamp(1739321024, UTC)

    def test_edit_without_the_original_id_is_malformed(self) -> None:
        message = {**payloads.WHATSAPP_EDIT_MESSAGE, "edit": {"message": {"type": "text"}}}
        with pytest.raises(MalformedPayload, match="original_message_id"):
            whatsapp_cloud.parse_inbound(self.route, payloads.whatsapp_value(messages=[message]))


class TestTwilio:
    route = make_route(Provider.TWILIO_SMS)

    def test_sms(self) -> None:
        event = only(
            twilio_sms.parse_inbound(self.route, payloads.TWILIO_INBOUND), InboundMessageReceived
        )
        assert event.provider_event_id == "SMd26c1a5b9a0fdc4f4a6e2d0c2a6f9b31"
        assert event.sender_handle == "+14155550100"
        assert event.text == "Is late checkout possible?"

    def test_mms(self) -> None:
        event = only(
            twilio_sms.parse_inbound(self.route, payloads.TWILIO_MMS), InboundMessageReceived
        )
        assert event.content_type is ContentType.IMAGE
        assert event.media is not None
        assert event.media.url == payloads.TWILIO_MMS["MediaUrl0"]
        assert event.media.mime_type == "image/jpeg"
        assert event.text is None

    def test_status_callback(self) -> None:
        event = only(
            twilio_sms.parse_status(self.route, payloads.TWILIO_STATUS), DeliveryStatusReceived
        )
        assert event.status is DeliveryStatus.FAILED
        assert event.error_code == "30003"
        assert event.provider_event_id == "SM2a7b3c4d5e6f708192a3b4c5d6e7f809:undelivered"

    @pytest.mark.parametrize(
        ("twilio_status", "expected"),
        [
            ("queued", DeliveryStatus.PENDING),
            ("sent", DeliveryStatus.SENT),
            ("delivered", DeliveryStatus.DELIVERED),
            ("read", DeliveryStatus.READ),
            ("failed", DeliveryStatus.FAILED),
        ],
    )
    def test_status_values(self, twilio_status: str, expected: DeliveryStatus) -> None:
        form = {**payloads.TWILIO_STATUS, "MessageStatus": twilio_status}
        assert (
            only(twilio_sms.parse_status(self.route, form), DeliveryStatusReceived).status
            is expected
        )

    def test_media_count_out_of_range(self) -> None:
        with pytest.raises(MalformedPayload):
            twilio_sms.parse_inbound(self.route, {**payloads.TWILIO_INBOUND, "NumMedia": "9999"})


class TestTelegram:
    route = make_route(Provider.TELEGRAM)

    def test_text_message(self) -> None:
        event = only(
            telegram.parse_inbound(self.route, payloads.TELEGRAM_TEXT), InboundMessageReceived
        )
        assert event.provider_event_id == "123456:99737762"
        assert event.provider_message_id == "993903016:3746"
        assert event.sender_handle == "993903016"
        assert event.sender_name == "Mher Movsisyan"
        assert event.text == "Sample message contents"

    def test_edited_message(self) -> None:
        event = only(
            telegram.parse_inbound(self.route, payloads.TELEGRAM_EDITED), InboundMessageReceived
        )
        assert event.text == "Edited"
        assert event.provider_event_id == "123456:99737763"
        # The same message as the original, marked as an edit with Telegram's edit time.
        assert event.provider_message_id == "993903016:3746"
        assert event.edited_at == datetime.fromtimestamp(1639926800, UTC)
        original = only(
            telegram.parse_inbound(self.route, payloads.TELEGRAM_TEXT), InboundMessageReceived
        )
        assert original.edited_at is None

    def test_photo_takes_the_largest_size(self) -> None:
        event = only(
            telegram.parse_inbound(self.route, payloads.TELEGRAM_PHOTO), InboundMessageReceived
        )
        assert event.media is not None
        assert event.media.url == "telegram-file:AgAD-large"
        assert event.text == "The view"
        assert event.media.caption == "The view"
        assert event.media.size_bytes == 89012

    def test_location_and_contact(self) -> None:
        location = only(
            telegram.parse_inbound(self.route, payloads.TELEGRAM_LOCATION), InboundMessageReceived
        )
        assert location.location is not None
        assert location.location.latitude == pytest.approx(40.177)
        contact = only(
            telegram.parse_inbound(self.route, payloads.TELEGRAM_CONTACT), InboundMessageReceived
        )
        assert contact.contact is not None
        assert contact.contact.phones == ("+37499123456",)

    def test_callback_query_is_ignored(self) -> None:
        assert telegram.parse_inbound(self.route, payloads.TELEGRAM_CALLBACK) == []


class TestEmail:
    route = make_route(Provider.EMAIL)

    def test_mailgun_forward(self) -> None:
        event = only(
            email.parse_inbound(self.route, payloads.MAILGUN_FIELDS), InboundMessageReceived
        )
        assert event.provider_event_id == "CAF=abc123@mail.example.com"
        assert event.sender_handle == "bob@example.com"
        assert event.sender_name == "Bob Lee"
        assert event.subject == "Parking at the hotel"
        assert event.text == "Hi, is there parking?"
        assert event.sent_at is not None

    def test_forwarded_attachments_are_kept_as_metadata(self) -> None:
        files = [
            UploadedFile("attachment-1", "passport.jpg", "image/jpeg", 20481),
            UploadedFile("attachment-2", "booking.pdf", "application/pdf", 1024),
        ]
        event = only(
            email.parse_inbound(self.route, payloads.MAILGUN_FIELDS, files),
            InboundMessageReceived,
        )
        assert event.content_type is ContentType.IMAGE
        assert event.text == "Hi, is there parking?"
        assert event.media is not None
        assert len(event.attachments) == 1
        assert (event.media.file_name, event.media.mime_type, event.media.size_bytes) == (
            "passport.jpg",
            "image/jpeg",
            20481,
        )
        assert event.media.url == "mailgun-attachment:CAF=abc123@mail.example.com/attachment-1"
        assert event.attachments[0].file_name == "booking.pdf"

    def test_stored_attachments_keep_mailguns_url(self) -> None:
        fields = {**payloads.MAILGUN_FIELDS, "attachments": payloads.MAILGUN_STORED_ATTACHMENTS}
        event = only(email.parse_inbound(self.route, fields), InboundMessageReceived)
        assert event.content_type is ContentType.DOCUMENT
        assert event.media is not None
        assert event.media.url.endswith("/messages/AgEF/attachments/0")
        assert (event.media.file_name, event.media.size_bytes) == ("booking.pdf", 48213)

    @pytest.mark.parametrize("attachments", ["{", '{"url": "x"}', "[1]", '[{"name": "a"}]'])
    def test_unreadable_attachment_list_is_malformed(self, attachments: str) -> None:
        fields = {**payloads.MAILGUN_FIELDS, "attachments": attachments}
        with pytest.raises(MalformedPayload, match="attachment"):
            email.parse_inbound(self.route, fields)

    def test_message_id_from_the_header_list(self) -> None:
        fields = {k: v for k, v in payloads.MAILGUN_FIELDS.items() if k != "Message-Id"}
        event = only(email.parse_inbound(self.route, fields), InboundMessageReceived)
        assert event.provider_event_id == "CAF=abc123@mail.example.com"

    def test_without_message_id(self) -> None:
        fields = {
            k: v
            for k, v in payloads.MAILGUN_FIELDS.items()
            if k not in ("Message-Id", "message-headers")
        }
        with pytest.raises(MalformedPayload):
            email.parse_inbound(self.route, fields)


def test_whatsapp_reactions_are_ignored_and_interactive_replies_kept() -> None:
    route = make_route(Provider.WHATSAPP_CLOUD)
    # https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/reaction
    reaction = {
        "from": "16505551234",
        "id": "wamid.reaction",
        "timestamp": "1750000000",
        "type": "reaction",
        "reaction": {"message_id": payloads.WAMID, "emoji": "\U0001f44d"},
    }
    # https://developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages/interactive
    reply = {
        "from": "16505551234",
        "id": "wamid.reply",
        "timestamp": "1750000001",
        "type": "interactive",
        "interactive": {
            "type": "button_reply",
            "button_reply": {"id": "late", "title": "Late check-out"},
        },
    }
    events = whatsapp_cloud.parse_inbound(
        route, payloads.whatsapp_value(messages=[reaction, reply])
    )
    event = only(events, InboundMessageReceived)
    assert event.text == "Late check-out"
