"""The sample webhooks (benchmark, demo, tests) pass the providers' own signature checks and
parsers."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl
from uuid import uuid4

import pytest

from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.demo.tenants import DEMO_TENANTS
from workers.demo import sample_channel
from workers.providers import email, green_api, telegram, twilio_sms, whatsapp_cloud
from workers.webhook_samples import PROVIDERS, SampleChannel, build, resign, twilio_signature

BASE_URL = "http://127.0.0.1:18000"
CREDENTIALS = {
    "green_api": {"id_instance": "1101000042"},
    "whatsapp_cloud": {"phone_number_id": "106540352242922"},
    "telegram": {"bot_token": "7000000042:AAbenchbenchbench"},
}


def _pair(provider: str) -> tuple[SampleChannel, ChannelRoute]:
    public_id = uuid4()
    account = CREDENTIALS.get(provider, {})
    channel = SampleChannel(
        tenant=0,
        provider=provider,
        public_id=str(public_id),
        webhook_secret=f"secret-{provider}",
        address="desk@hotel.example" if provider == "email" else "+442079460000",
        provider_account=account.get("id_instance") or account.get("phone_number_id") or "",
    )
    route = ChannelRoute(
        channel_id=uuid4(),
        public_id=public_id,
        tenant_id=uuid4(),
        property_id=uuid4(),
        provider=Provider(provider),
        enabled=True,
        address=channel.address,
        credentials=account,
        webhook_secret=channel.webhook_secret,
    )
    return channel, route


def _verify_and_parse(route: ChannelRoute, path: str, headers: dict[str, str], body: bytes):
    provider = route.provider
    if provider is Provider.GREEN_API:
        green_api.verify(route, authorization=headers["authorization"])
        return green_api.parse_inbound(route, json.loads(body))
    if provider is Provider.WHATSAPP_CLOUD:
        whatsapp_cloud.verify(route, body=body, signature=headers["x-hub-signature-256"])
        return whatsapp_cloud.parse_inbound(route, json.loads(body))
    if provider is Provider.TELEGRAM:
        telegram.verify(route, secret_token=headers["x-telegram-bot-api-secret-token"])
        return telegram.parse_inbound(route, json.loads(body))
    form = parse_qsl(body.decode(), keep_blank_values=True)
    if provider is Provider.TWILIO_SMS:
        signature = headers["x-twilio-signature"]
        twilio_sms.verify(route, url=BASE_URL + path, params=form, signature=signature)
        return twilio_sms.parse_inbound(route, dict(form))
    fields = dict(form)
    email.verify(
        route, timestamp=fields["timestamp"], token=fields["token"], signature=fields["signature"]
    )
    return email.parse_inbound(route, fields)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_built_webhook_verifies_and_parses_to_its_message(provider: str) -> None:
    channel, route = _pair(provider)
    webhook = build(channel, seq=1234, text="What time is check-in?", base_url=BASE_URL)

    assert webhook.path.endswith(f"/{channel.public_id}")
    [event] = _verify_and_parse(route, webhook.path, webhook.headers, webhook.body)

    assert event.provider_message_id == webhook.provider_message_id
    assert event.text == "What time is check-in?"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_duplicate_carries_the_same_message_and_still_verifies(provider: str) -> None:
    channel, route = _pair(provider)
    webhook = build(channel, seq=7, text="thanks", base_url=BASE_URL)

    again = resign(channel, webhook, base_url=BASE_URL)
    [event] = _verify_and_parse(route, again.path, again.headers, again.body)

    assert event.provider_message_id == webhook.provider_message_id
    # Mailgun tokens are single-use, so only the e-mail duplicate is signed afresh.
    assert (again.body == webhook.body) is (provider != "email")


def test_messages_get_distinct_provider_ids() -> None:
    channel, _ = _pair("telegram")
    ids = {
        build(channel, seq=s, text="x", base_url=BASE_URL).provider_message_id for s in range(500)
    }
    assert len(ids) == 500


def test_twilio_signature_matches_the_documented_vector() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675309",
        "Digits": "1234",
        "From": "+14158675309",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="


DEMO_CHANNELS = [
    (number, tenant, channel)
    for number, tenant in enumerate(DEMO_TENANTS)
    for channel in tenant.channels
]


@pytest.mark.parametrize(
    ("number", "tenant", "channel"), DEMO_CHANNELS, ids=lambda v: getattr(v, "name", "")
)
def test_the_demo_signs_its_samples_for_its_own_channels(number, tenant, channel) -> None:
    target = sample_channel(tenant, number, channel)
    route = ChannelRoute(
        channel_id=uuid4(),
        public_id=tenant.public_id(channel.provider),
        tenant_id=tenant.tenant_id,
        property_id=uuid4(),
        provider=channel.provider,
        enabled=True,
        address=channel.address,
        credentials=channel.credentials,
        webhook_secret=channel.webhook_secret,
    )
    webhook = build(target, seq=99, text="What time is check-in?", base_url=BASE_URL)

    [event] = _verify_and_parse(route, webhook.path, webhook.headers, webhook.body)

    assert webhook.path.endswith(f"/{route.public_id}")
    assert event.provider_message_id == webhook.provider_message_id
