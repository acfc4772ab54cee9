"""Signature checks against known vectors and the providers' own SDKs."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time

import pytest
from pywa.utils import webhook_updates_validator
from twilio.request_validator import RequestValidator

from domain.events import Provider
from tests.providers.factories import make_route
from workers.providers import email, green_api, telegram, twilio_sms, whatsapp_cloud
from workers.providers.base import WebhookForbidden, WebhookUnauthorized

TWILIO_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
TWILIO_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675309",
    "Digits": "1234",
    "From": "+14158675309",
    "To": "+18005551212",
}


def test_twilio_known_vector() -> None:
    expected = "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    assert twilio_sms.signature_of("12345", TWILIO_URL, TWILIO_PARAMS.items()) == expected
    assert RequestValidator("12345").validate(TWILIO_URL, TWILIO_PARAMS, expected)


def test_twilio_agrees_with_the_sdk() -> None:
    route = make_route(Provider.TWILIO_SMS)
    assert route.webhook_secret is not None
    params = {"MessageSid": "SM1", "Body": "héllo & ünïcode", "From": "+1", "To": "+2"}
    url = "https://frontdesk.example/webhooks/twilio/abc?x=1"
    signature = twilio_sms.signature_of(route.webhook_secret, url, params.items())
    assert RequestValidator(route.webhook_secret).validate(url, params, signature)
    twilio_sms.verify(route, url=url, params=params.items(), signature=signature)
    sdk_signature = RequestValidator(route.webhook_secret).compute_signature(url, params)
    twilio_sms.verify(route, url=url, params=params.items(), signature=sdk_signature)


def test_twilio_refusals() -> None:
    route = make_route(Provider.TWILIO_SMS)
    params = list(TWILIO_PARAMS.items())
    with pytest.raises(WebhookUnauthorized):
        twilio_sms.verify(route, url=TWILIO_URL, params=params, signature=None)
    good = twilio_sms.signature_of(route.webhook_secret or "", TWILIO_URL, params)
    with pytest.raises(WebhookForbidden):
        twilio_sms.verify(route, url=TWILIO_URL + "&baz=3", params=params, signature=good)
    with pytest.raises(WebhookForbidden):
        twilio_sms.verify(route, url=TWILIO_URL, params=[*params, ("Body", "x")], signature=good)


def test_meta_agrees_with_pywa() -> None:
    route = make_route(Provider.WHATSAPP_CLOUD)
    secret = route.webhook_secret or ""
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert webhook_updates_validator(secret, body, signature)
    whatsapp_cloud.verify(route, body=body, signature=signature)
    with pytest.raises(WebhookForbidden):
        whatsapp_cloud.verify(route, body=body + b" ", signature=signature)
    assert not webhook_updates_validator(secret, body + b" ", signature)
    with pytest.raises(WebhookUnauthorized):
        whatsapp_cloud.verify(route, body=body, signature=None)


def test_meta_subscription_handshake() -> None:
    route = make_route(Provider.WHATSAPP_CLOUD)
    whatsapp_cloud.verify_subscription(route, mode="subscribe", token="meta-verify-token")
    with pytest.raises(WebhookForbidden):
        whatsapp_cloud.verify_subscription(route, mode="subscribe", token="wrong")
    with pytest.raises(WebhookForbidden):
        whatsapp_cloud.verify_subscription(route, mode="unsubscribe", token="meta-verify-token")


def test_telegram_secret_token() -> None:
    route = make_route(Provider.TELEGRAM)
    telegram.verify(route, secret_token="telegram-secret-token")
    with pytest.raises(WebhookForbidden):
        telegram.verify(route, secret_token="telegram-secret-tokeN")
    with pytest.raises(WebhookUnauthorized):
        telegram.verify(route, secret_token=None)


def test_green_api_bearer_token() -> None:
    route = make_route(Provider.GREEN_API)
    green_api.verify(route, authorization="Bearer green-webhook-token")
    with pytest.raises(WebhookForbidden):
        green_api.verify(route, authorization="Basic green-webhook-token")
    with pytest.raises(WebhookForbidden):
        green_api.verify(route, authorization="Bearer nope")
    with pytest.raises(WebhookUnauthorized):
        green_api.verify(route, authorization=None)


def test_channel_without_secret_accepts_nothing() -> None:
    route = make_route(Provider.TELEGRAM)
    unsigned = dataclasses.replace(route, webhook_secret=None)
    with pytest.raises(WebhookForbidden):
        telegram.verify(unsigned, secret_token="")


def mailgun_signature(key: str, timestamp: str, token: str) -> str:
    # Mailgun's documented check, written out independently of the adapter.
    return hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def test_mailgun_signature_and_freshness() -> None:
    route = make_route(Provider.EMAIL)
    key = route.webhook_secret or ""
    now = time.time()
    timestamp, token = str(int(now)), "a" * 50
    signature = mailgun_signature(key, timestamp, token)
    email.verify(route, timestamp=timestamp, token=token, signature=signature, now=now)
    # Mailgun retries a POST frontdesk did not take for 8 hours, with the original signature.
    later = now + 8 * 3600
    email.verify(route, timestamp=timestamp, token=token, signature=signature, now=later)
    with pytest.raises(WebhookForbidden, match="retry window"):
        email.verify(
            route, timestamp=timestamp, token=token, signature=signature, now=now + 9 * 3600
        )
    with pytest.raises(WebhookForbidden, match="ahead"):
        email.verify(route, timestamp=timestamp, token=token, signature=signature, now=now - 301)
    with pytest.raises(WebhookForbidden):
        email.verify(route, timestamp=timestamp, token="b" * 50, signature=signature, now=now)
    with pytest.raises(WebhookUnauthorized):
        email.verify(route, timestamp=timestamp, token=token, signature=None, now=now)
