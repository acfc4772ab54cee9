"""The provider registry: every provider has a complete spec, and what is built from the specs
(the ingress routes, the senders, the webhook URLs) covers every provider."""

from __future__ import annotations

import inspect
import json
from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from domain.events import InboundMessageReceived, Provider
from tests.providers.factories import CREDENTIALS, SECRETS, make_route
from workers.ingress.webhooks import router
from workers.providers.base import OutboundSender, WebhookUnauthorized
from workers.providers.http import HttpSender, SenderSettings
from workers.providers.registry import SPECS, build_senders, webhook_url
from workers.providers.spec import BodyFormat, WebhookRequest
from workers.webhook_samples import SampleChannel, build

BASE_URL = "https://desk.example"
# The id a sample webhook names the provider account by, as the channel's credentials hold it.
ACCOUNTS = {
    Provider.GREEN_API: CREDENTIALS[Provider.GREEN_API]["id_instance"],
    Provider.WHATSAPP_CLOUD: CREDENTIALS[Provider.WHATSAPP_CLOUD]["phone_number_id"],
}


@pytest.mark.parametrize("provider", list(Provider), ids=[p.value for p in Provider])
async def test_every_provider_has_a_complete_spec(provider: Provider) -> None:
    spec = SPECS.get(provider)
    assert spec is not None, f"{provider} has no spec in workers.providers.registry"
    assert spec.provider is provider
    assert spec.route
    assert spec.route == spec.route.strip("/")
    assert "{" not in spec.route
    assert isinstance(spec.body_format, BodyFormat)
    assert callable(spec.verify)
    assert callable(spec.parse_inbound)
    assert spec.doc.summary
    assert spec.doc.body
    assert (spec.doc.example is None) != (spec.doc.fields is None)
    # A webhook that presents no credential at all is refused by the provider's own check.
    unsigned = WebhookRequest(url=f"{BASE_URL}/webhooks/{spec.route}/x", headers={}, body=b"{}")
    with pytest.raises(WebhookUnauthorized):
        spec.verify(make_route(provider), unsigned)
    async with httpx.AsyncClient() as client:
        sender = spec.sender(client, SenderSettings())
    assert isinstance(sender, OutboundSender)
    assert inspect.iscoroutinefunction(sender.send)


def test_routes_are_distinct_and_the_ingress_serves_each() -> None:
    assert len({spec.route for spec in SPECS.values()}) == len(SPECS)
    app = FastAPI()
    app.include_router(router)
    served = {
        (path, method.lower()) for path, item in app.openapi()["paths"].items() for method in item
    }
    for provider, spec in SPECS.items():
        path = urlsplit(webhook_url(BASE_URL, provider, "{channel_id}")).path
        assert (path, "post") in served, provider
        assert ((path, "get") in served) == (spec.verify_subscription is not None), provider
        if spec.status is not None:
            assert (f"{path}/{spec.status.path}", "post") in served, provider


async def test_one_sender_per_provider_over_http_except_mail() -> None:
    async with httpx.AsyncClient() as client:
        senders = build_senders(client)
    assert set(senders) == set(Provider)
    over_http = {p for p, sender in senders.items() if isinstance(sender, HttpSender)}
    assert over_http == set(Provider) - {Provider.EMAIL}


@pytest.mark.parametrize("provider", list(Provider), ids=[p.value for p in Provider])
def test_a_signed_sample_passes_the_specs_check_and_parser(provider: Provider) -> None:
    """The sample webhook ``frontdesk demo`` and the benchmark post, through the spec alone."""
    spec = SPECS[provider]
    channel = SampleChannel(
        tenant=1,
        provider=provider.value,
        public_id="5b0f5c3e-0000-4000-8000-000000000001",
        webhook_secret=SECRETS[provider],
        address="+14155552671",
        provider_account=ACCOUNTS.get(provider, ""),
    )
    sample = build(channel, seq=7, text="Is breakfast included?", base_url=BASE_URL)
    assert sample.path == urlsplit(webhook_url(BASE_URL, provider, channel.public_id)).path
    route = make_route(provider)
    request = WebhookRequest(url=BASE_URL + sample.path, headers=sample.headers, body=sample.body)
    if spec.body_format is BodyFormat.FORM:
        params = tuple(parse_qsl(sample.body.decode(), keep_blank_values=True))
        request = replace(request, params=params)
        spec.verify(route, request)
    else:
        spec.verify(route, request)
        request = replace(request, payload=json.loads(sample.body))
    (event,) = spec.parse_inbound(route, request)
    assert isinstance(event, InboundMessageReceived)
    assert event.provider is provider
    assert event.provider_message_id == sample.provider_message_id
    assert event.text == "Is breakfast included?"
