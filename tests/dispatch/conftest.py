"""A tenant with one guest and a reply drafted to them, a provider played on loopback, and the
outbound dispatcher, with the means to kill it at each step of a send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.db import create_engine
from persistence.directory import ChannelDirectory
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant, TenantFixture
from tests.providers.fake_provider import Answer, FakeProvider, Recorded
from workers.dispatch.outbound import OutboundDispatcher
from workers.dispatch.throttle import no_limits
from workers.providers.base import ReplyTo, Sender, SendResult, TemplateRef
from workers.providers.http import RetryPolicy
from workers.providers.registry import build_senders
from workers.settings import Settings

PUBLIC_BASE_URL = "https://frontdesk.test"
REPLY = "Check-in starts at 3:00 pm."


class Crash(BaseException):
    """The dispatcher process dies here: nothing after it runs, nothing catches it."""


@dataclass(frozen=True)
class Kind:
    """How one provider is played: its channel credentials and its documented answer."""

    provider: Provider
    base_url_key: str
    handle: str
    ok: Any
    send_path_part: str


KINDS = {
    Provider.TELEGRAM: Kind(
        Provider.TELEGRAM,
        "api_base_url",
        "993903016",
        {"ok": True, "result": {"message_id": 3747, "chat": {"id": 993903016}, "date": 1}},
        "/sendMessage",
    ),
    Provider.TWILIO_SMS: Kind(
        Provider.TWILIO_SMS,
        "api_base_url",
        "+14155550100",
        {"sid": "SM" + "a" * 32, "status": "queued"},
        "/Messages.json",
    ),
    Provider.WHATSAPP_CLOUD: Kind(
        Provider.WHATSAPP_CLOUD,
        "api_base_url",
        "+14155550100",
        {"messaging_product": "whatsapp", "messages": [{"id": "wamid.HBgLMTQxNTU1NTAxMDA"}]},
        "/messages",
    ),
    Provider.GREEN_API: Kind(
        Provider.GREEN_API,
        "api_url",
        "+14155550100",
        {"idMessage": "BAE5F4886B1A4E35"},
        "/sendMessage/",
    ),
}
CREDENTIALS: dict[Provider, dict[str, str]] = {
    Provider.TELEGRAM: {"bot_token": "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"},
    Provider.TWILIO_SMS: {
        "account_sid": "AC" + "0" * 32,
        "auth_token": "twilio-auth-token",
        "from_number": "+14155552671",
    },
    Provider.WHATSAPP_CLOUD: {"phone_number_id": "106540352242922", "access_token": "meta-token"},
    Provider.GREEN_API: {"id_instance": "1101000001", "api_token_instance": "green-token"},
    Provider.EMAIL: {"from_address": "frontdesk@hotel.example", "smtp_tls": "none"},
}


class Clock:
    """The dispatcher's clock, moved by the test (attempt times and the lease read it)."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


class AfterSend:
    """A sender that does what ``then`` says once the real provider call has returned: the
    process dying, or the database going away, before the outcome is recorded."""

    def __init__(self, real: Sender, then: Callable[[], Awaitable[None]]) -> None:
        self.real = real
        self.then = then

    async def send(
        self,
        *,
        route: ChannelRoute,
        to: str,
        text: str,
        idempotency_key: str,
        template: TemplateRef | None = None,
        reply_to: ReplyTo | None = None,
        options: Sequence[tuple[str, str]] = (),
    ) -> SendResult:
        kwargs: dict[str, Any] = {"route": route, "to": to, "text": text}
        if reply_to is not None:
            kwargs["reply_to"] = reply_to
        if options:
            kwargs["options"] = options
        result = await self.real.send(idempotency_key=idempotency_key, template=template, **kwargs)
        await self.then()
        return result


@dataclass
class Desk:
    """One tenant's channel on ``provider`` with a reply drafted to its guest."""

    tenant: TenantFixture
    kind: Provider
    handle: str
    conversation_id: UUID
    owner: AsyncEngine
    uow_factory: UnitOfWorkFactory
    messages: list[UUID] = field(default_factory=list)

    async def draft(self, content: str = REPLY) -> UUID:
        """A bot reply due now."""
        async with self.uow_factory(self.tenant.tenant_id) as uow:
            row = await uow.outbound.draft(
                conversation_id=self.conversation_id,
                channel_id=self.tenant.channel_id,
                content=content,
                send_after=datetime.now(UTC) - timedelta(seconds=1),
            )
            await uow.commit()
        self.messages.append(row.id)
        return row.id

    async def inbound(
        self, provider_message_id: str, *, subject: str | None = None, content: str = "Hi"
    ) -> None:
        async with self.uow_factory(self.tenant.tenant_id) as uow:
            await uow.inbound.add(
                conversation_id=self.conversation_id,
                channel_id=self.tenant.channel_id,
                provider_message_id=provider_message_id,
                content=content,
                subject=subject,
            )
            await uow.commit()

    async def row(self, message_id: UUID) -> dict[str, Any]:
        rows = await self.rows("SELECT * FROM messages WHERE id = :m", m=message_id)
        return rows[0]

    async def alerts(self, message_id: UUID) -> list[dict[str, Any]]:
        """Escalations staged for this message (the outbox holds every one emitted)."""
        return await self.rows(
            "SELECT payload FROM outbox WHERE event_type = 'escalation.requested'"
            " AND payload->>'message_id' = :m",
            m=str(message_id),
        )

    async def rows(self, query: str, **params: Any) -> list[dict[str, Any]]:
        async with self.owner.begin() as connection:
            result = await connection.execute(text(query), params)
            return [dict(row) for row in result.mappings()]


@dataclass
class Rig:
    settings: Settings
    uow_factory: UnitOfWorkFactory
    make_tenant: MakeTenant
    provider: FakeProvider
    client: httpx.AsyncClient
    directory: ChannelDirectory
    owner: AsyncEngine
    clock: Clock = field(default_factory=Clock)

    async def desk(
        self, kind: Provider = Provider.TELEGRAM, *, credentials: Mapping[str, str] | None = None
    ) -> Desk:
        if credentials is None:
            credentials = {**CREDENTIALS[kind], KINDS[kind].base_url_key: self.provider.base_url}
            self.provider.default = Answer(200, KINDS[kind].ok)
        handle = KINDS[kind].handle if kind in KINDS else "bob@guest.example"
        tenant = await self.make_tenant(provider=kind, credentials=dict(credentials))
        async with self.uow_factory(tenant.tenant_id) as uow:
            guest = await uow.guests.upsert_by_identity(kind=kind.value, handle=handle)
            conversation, _ = await uow.conversations.find_or_open(
                guest_id=guest.id, channel_id=tenant.channel_id, at=datetime.now(UTC)
            )
            await uow.commit()
        return Desk(tenant, kind, handle, conversation.id, self.owner, self.uow_factory)

    def dispatcher(
        self,
        *,
        senders: Mapping[Provider, Sender] | None = None,
        uow_factory: UnitOfWorkFactory | None = None,
        **options: Any,
    ) -> OutboundDispatcher:
        # These tests are about sending once; pacing sends is tests/rate_limits' subject.
        options.setdefault("send_limits", no_limits)
        return OutboundDispatcher(
            uow_factory=uow_factory or self.uow_factory,
            senders=senders or self.senders(),
            routes=self.directory.lookup,
            clock=self.clock,
            **options,
        )

    def senders(self, **wrapped: Sender) -> dict[Provider, Sender]:
        senders = build_senders(
            self.client, policy=RetryPolicy(attempts=1), public_base_url=PUBLIC_BASE_URL
        )
        return {**senders, **{Provider(k): v for k, v in wrapped.items()}}

    def sends(self, kind: Provider) -> list[Recorded]:
        """What the provider received as sends (not journal look-ups)."""
        part = KINDS[kind].send_path_part
        return [r for r in self.provider.requests if r.method == "POST" and part in r.path]

    async def terminate_app_connections(self) -> None:
        """pg_terminate_backend every connection the application role holds on this database."""
        async with self.owner.begin() as connection:
            await connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE usename = :role AND datname = current_database()"
                ),
                {"role": self.settings.app_role},
            )


@pytest.fixture
async def rig(
    database: Settings, uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> AsyncIterator[Rig]:
    provider = FakeProvider()
    await provider.start()
    directory = ChannelDirectory.from_settings(database)
    owner = create_engine(database.migration_database_url, schema=database.db_schema, pool_size=2)
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield Rig(database, uow_factory, make_tenant, provider, client, directory, owner)
    await owner.dispose()
    await directory.close()
    await provider.stop()
