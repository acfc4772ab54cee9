"""Bench tenants, created through frontdesk's own unit of work and repositories.

Each tenant is set up as the demo tenants are: one property, an assistant profile, AI settings
that answer at once (auto-reply on, the default confidence threshold, no response delay), a
published prompt, a small knowledge base, and one channel of every provider, whose webhook
secrets the load generator signs with and whose API base URLs point at the run's provider
stand-in, so every reply drafted is sent by the dispatcher and received there.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench.texts import KNOWLEDGE
from workers.webhook_samples import PROVIDERS, SampleChannel

if TYPE_CHECKING:
    from bench.system import Deployment

# Tenants seeded at once: each is one short transaction.
SEED_CONCURRENCY = 8
PROMPT = (
    "You are the assistant of {tenant_name}. Answer guests briefly and warmly from the "
    "knowledge base only; when unsure, say a colleague will reply shortly."
)


@dataclass(frozen=True, slots=True)
class StandIn:
    """Where the tenants' channels send: the stand-in's HTTP base URL and SMTP port."""

    url: str
    smtp_port: int


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _channel_fields(
    tenant: int, provider: str, stand_in: StandIn
) -> tuple[str, dict[str, str], str]:
    """(address, credentials, provider account) of a tenant's channel of ``provider``."""
    base = stand_in.url
    account = f"{1_101_000_000 + tenant * 10 + PROVIDERS.index(provider)}"
    phone = f"+44207{tenant:04d}{PROVIDERS.index(provider):02d}"
    credentials = {
        "green_api": {
            "api_url": f"{base}/green-api",
            "id_instance": account,
            "api_token_instance": secrets.token_hex(16),
        },
        "whatsapp_cloud": {
            "phone_number_id": account,
            "access_token": secrets.token_hex(16),
            "verify_token": secrets.token_hex(8),
            "api_base_url": f"{base}/whatsapp",
        },
        "twilio_sms": {
            "account_sid": f"AC{secrets.token_hex(16)}",
            "auth_token": "",  # the webhook secret is the auth token; set below
            "from_number": phone,
            "api_base_url": f"{base}/twilio",
        },
        "telegram": {
            "bot_token": f"{account}:{secrets.token_hex(12)}",
            "api_base_url": f"{base}/telegram",
        },
        "email": {
            "from_address": f"desk{tenant}@bench-hotel.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": str(stand_in.smtp_port),
            "smtp_username": "",
            "smtp_password": "",
            "smtp_tls": "none",
        },
    }[provider]
    address = credentials.get("from_address") or phone
    return address, credentials, account


async def seed_tenants(deployment: Deployment, *, tenants: int) -> list[SampleChannel]:
    """Creates ``tenants`` bench tenants; returns their channels, tenant by tenant."""
    from persistence.uow import UnitOfWorkFactory
    from workers.settings import load_settings

    settings = load_settings(
        database_url=deployment.app_url,
        migration_database_url=deployment.owner_url,
        db_schema=deployment.schema,
        db_pool_size=SEED_CONCURRENCY,
    )
    factory = UnitOfWorkFactory.from_settings(settings)
    gate = asyncio.Semaphore(SEED_CONCURRENCY)
    stand_in = StandIn(deployment.standin_url, deployment.standin_smtp_port)

    async def one(index: int) -> list[SampleChannel]:
        async with gate:
            return await _seed_one(factory, index, stand_in)

    try:
        parts = await asyncio.gather(*(one(index) for index in range(tenants)))
    finally:
        await factory.dispose()
    return [channel for part in parts for channel in part]


async def _seed_one(factory: object, index: int, stand_in: StandIn) -> list[SampleChannel]:
    tenant_id = uuid.uuid4()
    name = f"Bench Hotel {index}"
    channels: list[SampleChannel] = []
    async with factory(tenant_id) as uow:  # type: ignore[operator]
        await uow.tenants.add(name=name, slug=f"bench-{index:04d}", vertical="hotel")
        await uow.assistant_profiles.add(
            assistant_name="Bench Concierge", timezone="Europe/London", vertical="hotel"
        )
        place = await uow.properties.add(name=name, timezone="Europe/London")
        await uow.ai_settings.add(auto_reply_enabled=True, response_delay_minutes=0)
        prompt = await uow.prompts.add(body=PROMPT.format(tenant_name=name))
        await uow.prompts.publish(version=prompt.version)
        categories: dict[str, uuid.UUID] = {}
        for order, (category, question, answer) in enumerate(KNOWLEDGE):
            slug = _slug(category)
            if slug not in categories:
                categories[slug] = await uow.knowledge.upsert_category(
                    slug=slug, name=category, display_order=len(categories)
                )
            await uow.knowledge.upsert_item(
                category_id=categories[slug],
                key=_slug(question),
                question=question,
                answer=answer,
                display_order=order,
            )
        for provider in PROVIDERS:
            address, credentials, account = _channel_fields(index, provider, stand_in)
            secret = secrets.token_hex(16)
            if provider == "twilio_sms":
                credentials["auth_token"] = secret
            row = await uow.channels.add(
                property_id=place.id,
                provider=provider,
                name=f"{provider} {index}",
                address=address,
                credentials=credentials,
                webhook_secret=secret,
            )
            channels.append(
                SampleChannel(
                    tenant=index,
                    provider=provider,
                    public_id=str(row.public_id),
                    webhook_secret=secret,
                    address=address,
                    provider_account=account if provider != "email" else "",
                )
            )
        await uow.commit()
    return channels
