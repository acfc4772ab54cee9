"""A tenant whose staff are alerted on a phone (through a Green API channel) and on a Slack-style
webhook, both played by one loopback provider stand-in; a dispatcher to alert them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from sqlalchemy import Row, select, update

from domain.events import Provider
from persistence.directory import ChannelDirectory
from persistence.models import StaffAlertDelivery, StaffNotification
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from tests.providers.fake_provider import FakeProvider, Recorded
from workers.dispatch.alerts import AlertDispatcher, Checkpoint
from workers.providers.http import RetryPolicy
from workers.providers.registry import build_senders
from workers.settings import Settings

SIGNING_KEY = b"alerts-test-signing-key"
BASE_URL = "https://frontdesk.test"
PHONE_PATH_PART = "/sendMessage/"
WEBHOOK_PATH = "/hooks/staff-room"
GUEST_WORDS = "There is water pouring from the ceiling of room 12!"


class Crash(BaseException):
    """The dispatcher process dies here (nothing after it runs, nothing catches it)."""


def crash_at(point: str) -> Checkpoint:
    async def checkpoint(reached: str) -> None:
        if reached == point:
            raise Crash(point)

    return checkpoint


@dataclass
class Desk:
    tenant_id: UUID
    notification_id: UUID
    phone_target_id: UUID
    webhook_target_id: UUID
    user_id: UUID
    uow_factory: UnitOfWorkFactory
    provider: FakeProvider

    async def alert(self, dispatcher: AlertDispatcher) -> bool:
        """One sweep of ``dispatcher`` over this notification."""
        return await dispatcher.alert_one(
            tenant_id=self.tenant_id, notification_id=self.notification_id
        )

    def phone_alerts(self) -> list[Recorded]:
        return [r for r in self.provider.requests if PHONE_PATH_PART in r.path]

    def webhook_alerts(self) -> list[Recorded]:
        return [r for r in self.provider.requests if r.path == WEBHOOK_PATH]

    async def notification(self) -> Row[Any]:
        """The notification's row as it is now (the application's view, under RLS)."""
        table = StaffNotification.__table__
        async with self.uow_factory(self.tenant_id) as uow:
            statement = select(table).where(table.c.id == self.notification_id)
            return (await uow.session.execute(statement)).one()

    async def deliveries(self) -> list[Row[Any]]:
        table = StaffAlertDelivery.__table__
        async with self.uow_factory(self.tenant_id) as uow:
            statement = (
                select(table)
                .where(table.c.notification_id == self.notification_id)
                .order_by(table.c.attempt, table.c.target_id)
            )
            return list(await uow.session.execute(statement))

    async def fall_due(self) -> None:
        """Time passes until the notification is due again (a hold or a ladder rung)."""
        async with self.uow_factory(self.tenant_id) as uow:
            await uow.session.execute(
                update(StaffNotification)
                .where(StaffNotification.id == self.notification_id)
                .values(next_alert_at=datetime.now(UTC) - timedelta(seconds=1))
            )
            await uow.commit()


@pytest.fixture
async def provider() -> AsyncIterator[FakeProvider]:
    fake = FakeProvider()
    fake.default.body = {"idMessage": "BAE5ALERT"}
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def desk(
    make_tenant: MakeTenant, uow_factory: UnitOfWorkFactory, provider: FakeProvider
) -> Desk:
    fixture = await make_tenant(
        provider=Provider.GREEN_API,
        credentials={
            "api_url": provider.base_url,
            "id_instance": "1101000001",
            "api_token_instance": "alert-token",
        },
    )
    now = datetime.now(UTC)
    async with uow_factory(fixture.tenant_id) as uow:
        user = await uow.staff.add(
            email=f"night-{uuid4().hex[:8]}@example.com",
            full_name="Nina Night",
            password_hash="scrypt$x",
            roles=("agent",),
        )
        phone = await uow.alert_targets.add_channel_target(
            name="Night manager phone",
            channel_id=fixture.channel_id,
            address="+34600999888",
            user_id=user.id,
        )
        webhook = await uow.alert_targets.add_webhook_target(
            name="Staff room", webhook_url=f"{provider.base_url}{WEBHOOK_PATH}"
        )
        guest = await uow.guests.upsert_by_identity(
            kind="green_api", handle="+34600111222", display_name="Greta Guest"
        )
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=fixture.channel_id, at=now
        )
        message = await uow.inbound.add(
            conversation_id=conversation.id,
            channel_id=fixture.channel_id,
            provider_message_id=f"in-{uuid4().hex}",
            content=GUEST_WORDS,
        )
        assert message is not None
        notification, _ = await uow.notifications.add(
            conversation_id=conversation.id,
            message_id=message.id,
            type="escalation",
            urgent=True,
            detail="category=emergency",
            next_alert_at=now - timedelta(seconds=1),
        )
        await uow.commit()
    return Desk(
        tenant_id=fixture.tenant_id,
        notification_id=notification.id,
        phone_target_id=phone.id,
        webhook_target_id=webhook.id,
        user_id=user.id,
        uow_factory=uow_factory,
        provider=provider,
    )


MakeDispatcher = Callable[..., Awaitable[AlertDispatcher]]


@pytest.fixture
async def make_dispatcher(
    database: Settings, uow_factory: UnitOfWorkFactory
) -> AsyncIterator[MakeDispatcher]:
    directory = ChannelDirectory.from_settings(database)
    clients: list[httpx.AsyncClient] = []

    async def make(**overrides: Any) -> AlertDispatcher:
        client = httpx.AsyncClient(timeout=5.0, event_hooks=overrides.pop("event_hooks", None))
        clients.append(client)
        values: dict[str, Any] = {
            "uow_factory": uow_factory,
            "senders": build_senders(client, policy=RetryPolicy(attempts=1)),
            "routes": directory.lookup,
            "http": client,
            "signing_key": SIGNING_KEY,
            "public_base_url": BASE_URL,
            "clock": lambda: datetime.now(UTC),
        }
        return AlertDispatcher(**{**values, **overrides})

    yield make
    for client in clients:
        await client.aclose()
    await directory.close()
