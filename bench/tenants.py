"""Bench tenants, created through frontdesk's own unit of work and repositories.

Each tenant gets one property, AI settings that answer at once, a small knowledge base and one
channel of every provider, whose webhook secrets the load generator signs with.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from typing import TYPE_CHECKING

from bench.texts import KNOWLEDGE
from workers.webhook_samples import PROVIDERS, SampleChannel

if TYPE_CHECKING:
    from bench.system import Deployment

# Tenants seeded at once: each is one short transaction.
SEED_CONCURRENCY = 8
STAND_IN = "http://127.0.0.1:8025"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _channel_fields(tenant: int, provider: str) -> tuple[str, dict[str, str], str]:
    """(address, credentials, provider account) of a tenant's channel of ``provider``."""
    account = f"{1_101_000_000 + tenant * 10 + PROVIDERS.index(provider)}"
    phone = f"+44207{tenant:04d}{PROVIDERS.index(provider):02d}"
    credentials = {
        "green_api": {
            "api_url": f"{STAND_IN}/green-api",
            "id_instance": account,
            "api_token_instance": secrets.token_hex(16),
        },
        "whatsapp_cloud": {
            "phone_number_id": account,
            "access_token": secrets.token_hex(16),
            "verify_token": secrets.token_hex(8),
            "api_base_url": f"{STAND_IN}/whatsapp",
        },
        "twilio_sms": {
            "account_sid": f"AC{secrets.token_hex(16)}",
            "auth_token": "",  # the webhook secret is the auth token; set below
            "from_number": phone,
            "api_base_url": f"{STAND_IN}/twilio",
        },
        "telegram": {"bot_token": f"{account}:{secrets.token_hex(12)}", "api_base_url": STAND_IN},
        "email": {
            "from_address": f"desk{tenant}@bench-hotel.example",
            "smtp_host": "127.0.0.1",
            "smtp_port": "8026",
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

    async def one(index: int) -> list[SampleChannel]:
        async with gate:
            return await _seed_one(factory, index)

    try:
        parts = await asyncio.gather(*(one(index) for index in range(tenants)))
    finally:
        await factory.dispose()
    return [channel for part in parts for channel in part]


async def _seed_one(factory: object, index: int) -> list[SampleChannel]:
    tenant_id = uuid.uuid4()
    channels: list[SampleChannel] = []
    async with factory(tenant_id) as uow:  # type: ignore[operator]
        await uow.tenants.add(
            name=f"Bench Hotel {index}", slug=f"bench-{index:04d}", vertical="hotel"
        )
        place = await uow.properties.add(name=f"Bench Hotel {index}", timezone="Europe/London")
        await uow.ai_settings.add(auto_reply_enabled=True, response_delay_minutes=0)
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
            address, credentials, account = _channel_fields(index, provider)
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
