"""Service levels on the session's database: guests write through intake, staff act through the
inbox commands, bot replies are recorded sent the way the dispatcher records them, and the
sweeper runs on an injected clock.

- ``desk``: ``await desk(**policy)`` -> ``Desk``: a tenant (Europe/Madrid, a Telegram channel)
  with one SLA policy; ``desk.write(text, at)`` is a guest message through intake (one guest per
  desk unless ``guest=`` names another), ``desk.conversation(id)`` reads the row back.
- ``sweeper_at``: ``sweeper_at(instant)`` -> a ``ServiceLevelSweeper`` whose clock says that.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from domain.events import InboundMessageReceived, Provider
from persistence.models import (
    BusinessHours,
    Conversation,
    GuestIdentity,
    SlaPolicy,
    SlaViolation,
    SlaWarning,
    StaffNotification,
)
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import api, api_app, api_services, hotel, make_staff  # noqa: F401
from tests.conftest import MakeTenant, TenantFixture
from workers.consumers import intake
from workers.scheduler.service_levels import ServiceLevelSweeper

MADRID = ZoneInfo("Europe/Madrid")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=MADRID)


@dataclass
class Desk:
    uow_factory: UnitOfWorkFactory
    tenant: TenantFixture
    policy_id: UUID
    guest: str = field(default_factory=lambda: f"+3461{uuid4().int % 10**7:07d}")

    @property
    def tenant_id(self) -> UUID:
        return self.tenant.tenant_id

    async def write(self, text: str, at: datetime, *, guest: str | None = None) -> UUID:
        """A guest message through intake; the conversation's id."""
        message_id = f"sla-{uuid4().hex}"
        event = InboundMessageReceived(
            tenant_id=self.tenant_id,
            provider=Provider.TELEGRAM,
            channel_id=self.tenant.channel_id,
            provider_event_id=message_id,
            provider_message_id=message_id,
            sender_handle=guest or self.guest,
            text=text,
            sent_at=at,
        )
        async with self.uow_factory(self.tenant_id) as uow:
            await intake.handle(event, uow)
            await uow.commit()
        async with self.uow_factory(self.tenant_id) as uow:
            found = await uow.session.scalar(
                select(Conversation.id)
                .join(GuestIdentity, GuestIdentity.guest_id == Conversation.guest_id)
                .where(GuestIdentity.handle == (guest or self.guest))
                .order_by(Conversation.created_at.desc())
                .limit(1)
            )
        assert found is not None
        return found

    async def conversation(self, conversation_id: UUID) -> Conversation:
        async with self.uow_factory(self.tenant_id) as uow:
            row = await uow.conversations.get(conversation_id=conversation_id)
            assert row is not None
            uow.session.expunge(row)  # readable after the unit of work ends
            return row

    async def hours(self, *shifts: tuple[int, time, time], overnight: bool = False) -> None:
        async with self.uow_factory(self.tenant_id) as uow:
            for weekday, opens_at, closes_at in shifts:
                await uow.configuration.add(
                    BusinessHours,
                    property_id=self.tenant.property_id,
                    weekday=weekday,
                    opens_at=opens_at,
                    closes_at=closes_at,
                    overnight=overnight,
                )
            await uow.commit()

    async def counts(self, conversation_id: UUID) -> dict[str, Any]:
        """Warnings and breaches by kind, and sla_breach notifications, of the conversation."""
        async with self.uow_factory(self.tenant_id) as uow:
            counted: dict[str, Any] = {}
            for name, model in (("warnings", SlaWarning), ("breaches", SlaViolation)):
                rows = await uow.session.execute(
                    select(model.kind, func.count())
                    .where(model.conversation_id == conversation_id)
                    .group_by(model.kind)
                )
                counted[name] = {str(row[0]): int(row[1]) for row in rows}
            counted["notifications"] = await uow.session.scalar(
                select(func.count()).where(
                    StaffNotification.conversation_id == conversation_id,
                    StaffNotification.type == "sla_breach",
                )
            )
            return counted


MakeDesk = Callable[..., Awaitable[Desk]]


@pytest.fixture
def desk(uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant) -> MakeDesk:
    async def make(**policy: Any) -> Desk:
        # Telegram: no 24-hour window refuses a staff reply at the tests' fixed instants.
        tenant = await make_tenant(
            provider=Provider.TELEGRAM, address="@sla_desk_bot", credentials={"bot_token": "1:t"}
        )
        values: dict[str, Any] = {
            "name": "Standard",
            "first_response_minutes": 60,
            "next_response_minutes": 30,
            "resolution_minutes": 480,
            "warning_percent": 80,
            **policy,
        }
        async with uow_factory(tenant.tenant_id) as uow:
            row = await uow.configuration.add(SlaPolicy, **values)
            await uow.commit()
        return Desk(uow_factory, tenant, row.id)

    return make


SweeperAt = Callable[[datetime], ServiceLevelSweeper]


@pytest.fixture
def sweeper_at(uow_factory: UnitOfWorkFactory) -> SweeperAt:
    def make(instant: datetime) -> ServiceLevelSweeper:
        return ServiceLevelSweeper(uow_factory=uow_factory, clock=lambda: instant)

    return make
