"""Whatever characters a guest's text or name holds, every event a provider parser makes of it
can be stored: the parsers hand PostgreSQL nothing its text and jsonb types refuse."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.channels import ChannelRoute
from domain.events import InboundMessageReceived, Provider
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from tests.providers import payloads
from tests.providers.factories import CREDENTIALS, make_route
from workers.consumers import intake
from workers.providers import email, green_api, telegram, twilio_sms, whatsapp_cloud
from workers.providers.base import MalformedPayload, ParsedEvent

# Characters PostgreSQL refuses (NUL; lone UTF-16 surrogates, which UTF-8 cannot carry) among
# other control and edge characters, mixed into ordinary text.
AWKWARD = ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\x01", "\x1b", "\x7f", "\u2028"]
awkward_text = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from([*AWKWARD, "\ufeff", "\U0010ffff"])),
    max_size=30,
)


def green_api_payload(text: str, name: str, key: str) -> Any:
    payload = {
        **payloads.GREEN_API_TEXT,
        key: text,
        "senderData": {
            **payloads.GREEN_API_TEXT["senderData"],
            "senderName": name,
            "senderContactName": name,
        },
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}},
    }
    return green_api.parse_inbound, payload


def whatsapp_payload(text: str, name: str, key: str) -> Any:
    message = {
        "from": "16505551234",
        "id": "wamid.FUZZ",
        "timestamp": "1750090702",
        "type": "text",
        "text": {"body": text},
        key: text,
    }
    contacts = [{"profile": {"name": name}, "wa_id": "16505551234"}]
    return whatsapp_cloud.parse_inbound, payloads.whatsapp_value(
        contacts=contacts, messages=[message]
    )


def twilio_payload(text: str, name: str, key: str) -> Any:
    form = {key: text, "MessageSid": "SMfuzz", "From": "+14155550100", "Body": text}
    return twilio_sms.parse_inbound, {**form, "ProfileName": name}


def telegram_payload(text: str, name: str, key: str) -> Any:
    message = payloads.TELEGRAM_TEXT["message"]
    sender = {**message["from"], "first_name": name, "last_name": text}
    payload = {
        "update_id": 1,
        "message": {**message, "from": sender, "text": text, key: text},
    }
    return telegram.parse_inbound, payload


def email_payload(text: str, name: str, key: str) -> Any:
    form = {
        **payloads.MAILGUN_FIELDS,
        key: text,
        "from": f'"{name}" <bob@example.com>',
        "subject": text,
        "stripped-text": text,
    }
    return email.parse_inbound, form


BUILDERS: dict[Provider, Callable[[str, str, str], Any]] = {
    Provider.GREEN_API: green_api_payload,
    Provider.WHATSAPP_CLOUD: whatsapp_payload,
    Provider.TWILIO_SMS: twilio_payload,
    Provider.TELEGRAM: telegram_payload,
    Provider.EMAIL: email_payload,
}
_routes: dict[Provider, ChannelRoute] = {}


async def route_for(provider: Provider, make_tenant: MakeTenant) -> ChannelRoute:
    """One real channel per provider for the whole run (each example rolls back)."""
    if provider not in _routes:
        tenant = await make_tenant(provider=provider, credentials=CREDENTIALS[provider])
        _routes[provider] = dataclasses.replace(
            make_route(provider), tenant_id=tenant.tenant_id, channel_id=tenant.channel_id
        )
    return _routes[provider]


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    provider=st.sampled_from(list(BUILDERS)),
    text=awkward_text,
    name=awkward_text,
    key=awkward_text,
)
async def test_every_parsed_event_can_be_stored(
    uow_factory: UnitOfWorkFactory,
    make_tenant: MakeTenant,
    provider: Provider,
    text: str,
    name: str,
    key: str,
) -> None:
    route = await route_for(provider, make_tenant)
    parse, payload = BUILDERS[provider](text, name, key)
    try:
        events: list[ParsedEvent] = parse(route, payload)
    except (MalformedPayload, pydantic.ValidationError):
        return  # refused with a 422 at the ingress: never answered 200, nothing to store
    for event in events:
        assert isinstance(event, InboundMessageReceived)
        async with uow_factory(route.tenant_id) as uow:
            # Not committed: every example starts from the same database.
            await intake.handle(event, uow)
            await uow.flush()
            stored = await uow.messages.find_by_provider_id(
                channel_id=route.channel_id, provider_message_id=event.provider_message_id
            )
            assert stored is not None
            assert "\x00" not in (stored.content or "")
