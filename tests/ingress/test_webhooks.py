"""Every provider's documented webhook goes in and comes out as confirmed events on the broker."""

from __future__ import annotations

from urllib.parse import urlencode

from domain.events import Provider
from tests.ingress import support
from tests.ingress.conftest import Capture, Ingress
from tests.providers import payloads
from tests.providers.factories import make_route


async def test_green_api_message(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.GREEN_API))
    response = await ingress.client.post(**support.green_api(route, payloads.GREEN_API_TEXT))
    assert response.status_code == 200, response.text
    (event,) = await capture.events(1)
    assert event["type"] == "inbound.received"
    assert event["tenant_id"] == str(route.tenant_id)
    assert event["channel_id"] == str(route.channel_id)
    assert event["provider"] == "green_api"
    assert event["provider_event_id"] == "1234:79001234568@c.us:F7AEC1B7086ECDC7E6E45923F5EDB825"
    assert event["text"] == "I use GREEN-API to send this message to you!"


async def test_green_api_status(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.GREEN_API))
    response = await ingress.client.post(**support.green_api(route, payloads.GREEN_API_STATUS))
    assert response.status_code == 200
    (event,) = await capture.events(1)
    assert (event["type"], event["status"]) == ("inbound.status", "delivered")


async def test_green_api_unhandled_type_is_acknowledged(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.GREEN_API))
    response = await ingress.client.post(**support.green_api(route, payloads.GREEN_API_STATE))
    assert response.status_code == 200
    assert response.json() == {"accepted": 0}
    assert ingress.publisher.calls == 0
    await capture.assert_nothing_published()


async def test_whatsapp_notification_with_messages_and_statuses(
    ingress: Ingress, capture: Capture
) -> None:
    route = ingress.channels.add(make_route(Provider.WHATSAPP_CLOUD))
    payload = payloads.whatsapp_value(
        contacts=[{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        messages=[payloads.WHATSAPP_IMAGE_MESSAGE, payloads.WHATSAPP_LOCATION_MESSAGE],
        statuses=[payloads.WHATSAPP_STATUS_DELIVERED],
    )
    response = await ingress.client.post(**support.whatsapp(route, payload))
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 3}
    assert ingress.publisher.calls == 1  # one confirmed batch per request
    events = await capture.events(3)
    assert [e["type"] for e in events].count("inbound.received") == 2
    assert {e["provider_event_id"] for e in events} == {
        payloads.WHATSAPP_IMAGE_MESSAGE["id"],
        payloads.WHATSAPP_LOCATION_MESSAGE["id"],
        f"{payloads.WHATSAPP_STATUS_DELIVERED['id']}:delivered",
    }


async def test_whatsapp_subscription_handshake(ingress: Ingress) -> None:
    route = ingress.channels.add(make_route(Provider.WHATSAPP_CLOUD))
    params = {
        "hub.mode": "subscribe",
        "hub.verify_token": "meta-verify-token",
        "hub.challenge": "1158201444",
    }
    response = await ingress.client.get(support.path("whatsapp", route), params=params)
    assert (response.status_code, response.text) == (200, "1158201444")
    wrong = {**params, "hub.verify_token": "guess"}
    response = await ingress.client.get(support.path("whatsapp", route), params=wrong)
    assert response.status_code == 403


async def test_twilio_inbound_answers_empty_twiml(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TWILIO_SMS))
    response = await ingress.client.post(**support.twilio(route, payloads.TWILIO_MMS))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response/>" in response.text
    (event,) = await capture.events(1)
    assert event["provider_event_id"] == payloads.TWILIO_MMS["MessageSid"]
    assert event["media"]["url"] == payloads.TWILIO_MMS["MediaUrl0"]


async def test_twilio_signature_covers_the_query_string(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TWILIO_SMS))
    request = support.twilio(route, payloads.TWILIO_INBOUND)
    # Signed for the URL without the query: the ingress must see the difference.
    request["url"] += "?tenant=other"
    response = await ingress.client.post(**request)
    assert response.status_code == 403
    await capture.assert_nothing_published()


async def test_twilio_status_callback(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TWILIO_SMS))
    response = await ingress.client.post(
        **support.twilio(route, payloads.TWILIO_STATUS, status=True)
    )
    assert response.status_code == 200, response.text
    (event,) = await capture.events(1)
    assert event["status"] == "failed"
    assert event["error_code"] == "30003"


async def test_telegram_update(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.TELEGRAM))
    response = await ingress.client.post(**support.telegram(route, payloads.TELEGRAM_PHOTO))
    assert response.status_code == 200, response.text
    (event,) = await capture.events(1)
    assert event["provider_event_id"] == "123456:99737764"
    assert event["media"]["url"] == "telegram-file:AgAD-large"


async def test_email_urlencoded(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.EMAIL))
    response = await ingress.client.post(**support.email(route, payloads.MAILGUN_FIELDS))
    assert response.status_code == 200, response.text
    (event,) = await capture.events(1)
    assert event["provider_event_id"] == "CAF=abc123@mail.example.com"
    assert event["subject"] == "Parking at the hotel"
    assert "signature" not in event["raw"]


async def test_email_multipart_with_attachment(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.EMAIL))
    fields = support.mailgun_fields(route, {**payloads.MAILGUN_FIELDS, "attachment-count": "1"})
    response = await ingress.client.post(
        support.path("email", route),
        data=fields,
        files={"attachment-1": ("booking.pdf", b"%PDF-1.4 ...", "application/pdf")},
    )
    assert response.status_code == 200, response.text
    (event,) = await capture.events(1)
    assert event["raw"]["attachment-1"] == "booking.pdf"


async def test_email_token_replay_is_refused(ingress: Ingress, capture: Capture) -> None:
    route = ingress.channels.add(make_route(Provider.EMAIL))
    fields = support.mailgun_fields(route, payloads.MAILGUN_FIELDS)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    url = support.path("email", route)
    first = await ingress.client.post(url, content=urlencode(fields), headers=headers)
    assert first.status_code == 200
    await capture.events(1)
    replayed = await ingress.client.post(url, content=urlencode(fields), headers=headers)
    assert replayed.status_code == 403
    assert "already used" in replayed.json()["detail"]
    await capture.assert_nothing_published()
