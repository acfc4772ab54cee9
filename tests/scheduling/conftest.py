"""Scheduling fixtures: the management API's (``api``, ``hotel``, ``make_staff``), an injected
clock, and factories for pre-arrival rules and reservations on the session's database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.events import ReservationChanged
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import (  # noqa: F401 - fixtures
    CLI,
    Hotel,
    api,
    api_app,
    api_services,
    hotel,
    make_staff,
)
from tests.conftest import MakeTenant, TenantFixture
from workers.api.reservations import ReservationIn, put_reservation


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


SYSTEM = CLI


@dataclass(frozen=True, slots=True)
class Rules:
    """A tenant with T-3 / T-1 / day-of templates and triggers on its channel's provider."""

    tenant: TenantFixture
    triggers: dict[str, UUID]
    templates: dict[str, UUID]


MakeRules = Callable[..., Awaitable[Rules]]
BODIES = {
    "T_MINUS_3": "Hi {{ guest.first_name }}, see you on {{ reservation.check_in }}.",
    "T_MINUS_1": "Hi {{ guest.first_name }}, tomorrow at {{ property.name }} from "
    "{{ settings.check_in_time }}.",
    "DAY_OF": "Welcome day, {{ guest.first_name }}!",
}


@pytest.fixture
def make_rules(make_tenant: MakeTenant, uow_factory: UnitOfWorkFactory) -> MakeRules:
    async def make(
        *,
        timezone: str = "Europe/Berlin",
        rules: tuple[str, ...] = ("T_MINUS_3", "T_MINUS_1", "DAY_OF"),
        conditions: dict[str, dict[str, Any]] | None = None,
        tenant: TenantFixture | None = None,
        **tenant_options: Any,
    ) -> Rules:
        tenant = tenant or await make_tenant(timezone=timezone, **tenant_options)
        triggers, templates = {}, {}
        async with uow_factory(tenant.tenant_id) as uow:
            for key in rules:
                template = await uow.templates.add(
                    channel=tenant.provider.value, rule_key=key, body=BODIES[key]
                )
                trigger = await uow.triggers.add(
                    name=key.lower(),
                    kind="time_based",
                    template_id=template.id,
                    conditions=(conditions or {}).get(key, {}),
                )
                templates[key], triggers[key] = template.id, trigger.id
            await uow.commit()
        return Rules(tenant=tenant, triggers=triggers, templates=templates)

    return make


MakeReservation = Callable[..., Awaitable[UUID]]


@pytest.fixture
def make_reservation(uow_factory: UnitOfWorkFactory) -> MakeReservation:
    """``await make_reservation(tenant, check_in=..., nights=2, ...)`` -> reservation id (put
    through the API's command, its reservation.changed left in the outbox)."""

    async def make(
        tenant: TenantFixture,
        *,
        check_in: date,
        nights: int = 2,
        external_ref: str | None = None,
        now: datetime | None = None,
        **fields: Any,
    ) -> UUID:
        values: dict[str, Any] = {
            "property_id": tenant.property_id,
            "guest_name": "Anna Schmidt",
            "phone": f"+49151{uuid4().int % 10**8:08d}",
            "check_in": check_in,
            "check_out": date.fromordinal(check_in.toordinal() + nights),
        }
        values.update(fields)
        async with uow_factory(tenant.tenant_id) as uow:
            out, _ = await put_reservation(
                uow,
                external_ref=external_ref or f"PMS-{uuid4().hex[:8]}",
                body=ReservationIn(**values),
                actor=SYSTEM,
                now=now or datetime(2026, 1, 1, tzinfo=UTC),
            )
            await uow.commit()
        return out.id

    return make


def changed(tenant: TenantFixture, reservation_id: UUID) -> ReservationChanged:
    return ReservationChanged(
        tenant_id=tenant.tenant_id, reservation_id=reservation_id, status="confirmed"
    )


TEN = time(10)
