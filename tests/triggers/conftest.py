"""Condition trigger fixtures: the management API's (``api``, ``hotel``), the scheduling ones
(``make_reservation``, ``Clock``), and factories for a guest's conversation and a trigger."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import (  # noqa: F401 - fixtures
    Hotel,
    api,
    api_app,
    api_services,
    hotel,
    make_staff,
)
from tests.conftest import TenantFixture
from tests.scheduling.conftest import Clock, make_reservation  # noqa: F401 - fixtures

__all__ = ["Clock", "Hotel"]


@dataclass(frozen=True, slots=True)
class Talk:
    """A guest's conversation on the tenant's channel, with their first message and stay."""

    tenant: TenantFixture
    guest_id: UUID
    conversation_id: UUID
    message_id: UUID
    reservation_id: UUID


MakeTalk = Callable[..., Awaitable[Talk]]
MakeTrigger = Callable[..., Awaitable[UUID]]


@pytest.fixture
def make_talk(uow_factory: UnitOfWorkFactory) -> MakeTalk:
    """``await make_talk(tenant, tags=["VIP"], text=...)``: a guest staying now, who wrote."""

    async def make(
        tenant: TenantFixture, *, tags: list[str] | None = None, text: str = "Hello"
    ) -> Talk:
        today = date.today()
        async with uow_factory(tenant.tenant_id) as uow:
            guest = await uow.guests.upsert_by_identity(
                kind=tenant.provider.value, handle=f"guest-{uuid4().hex[:10]}"
            )
            stay = await uow.reservations.add(
                property_id=tenant.property_id,
                guest_id=guest.id,
                check_in=today - timedelta(days=1),
                check_out=today + timedelta(days=2),
                external_ref=f"PMS-{uuid4().hex[:8]}",
            )
            stay.tags = list(tags or [])
            opened, _ = await uow.conversations.find_or_open(
                guest_id=guest.id, channel_id=tenant.channel_id, at=datetime.now(UTC)
            )
            await uow.conversations.link_reservation(
                conversation_id=opened.id, reservation_id=stay.id
            )
            said = await uow.inbound.add(
                conversation_id=opened.id,
                channel_id=tenant.channel_id,
                provider_message_id=f"m-{uuid4().hex}",
                content=text,
            )
            assert said is not None
            await uow.commit()
        return Talk(tenant, guest.id, opened.id, said.id, stay.id)

    return make


@pytest.fixture
def make_trigger(uow_factory: UnitOfWorkFactory) -> MakeTrigger:
    """``await make_trigger(tenant, conditions)`` -> the id of an active condition trigger
    (stored as the API stores it: the template its action sends on the row)."""

    async def make(tenant: TenantFixture, conditions: dict[str, Any], **values: Any) -> UUID:
        from domain.conditions import parse
        from persistence.models import Trigger

        async with uow_factory(tenant.tenant_id) as uow:
            row = await uow.configuration.add(
                Trigger,
                name=values.pop("name", f"trigger-{uuid4().hex[:8]}"),
                kind="condition_based",
                template_id=parse(conditions).template_id,
                conditions=conditions,
                **values,
            )
            await uow.commit()
        return row.id

    return make
