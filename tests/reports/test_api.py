"""``GET /api/v1/reports/summary``: who may read it, what it refuses (a 422 naming the field,
never a 500), and that it is in the OpenAPI document with its permission."""

from __future__ import annotations

import httpx
import pytest

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import (
    CLI,
    Hotel,
    MakeStaff,
)
from tests.conftest import MakeTenant
from tests.reports.conftest import March
from workers.api.commands.api_keys import create_api_key

SUMMARY = "/api/v1/reports/summary"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-03-01", "to": "2026-03-01"}, "to"),
        ({"from": "2026-03-02", "to": "2026-03-01"}, "to"),
        ({"from": "2025-01-01", "to": "2026-01-03"}, "to"),  # 367 days
        ({"from": "2026-03-01", "to": "2026-04-01", "timezone": "Mars/Olympus"}, "timezone"),
        ({"from": "2026-03-01", "to": "2026-04-01", "group_by": "floor"}, "group_by"),
        ({"from": "2026-02-30", "to": "2026-04-01"}, "from"),
        ({"from": "yesterday", "to": "2026-04-01"}, "from"),
        ({"to": "2026-04-01"}, "from"),
        ({"from": "2026-03-01"}, "to"),
    ],
)
async def test_a_bad_period_or_grouping_is_a_422_naming_the_field(
    api: httpx.AsyncClient, hotel: Hotel, params: dict[str, str], field: str
) -> None:
    response = await api.get(SUMMARY, params=params, headers=hotel.admin.headers)

    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors = response.json()["errors"]
    assert [(e["location"], e["field"]) for e in errors] == [("query", field)]


async def test_a_whole_leap_year_is_allowed(api: httpx.AsyncClient, hotel: Hotel) -> None:
    params = {"from": "2028-01-01", "to": "2029-01-01"}  # 366 days
    response = await api.get(SUMMARY, params=params, headers=hotel.admin.headers)

    assert response.status_code == 200, response.text
    assert response.json()["total"]["conversations"] == 0


async def test_agents_may_not_read_reports_and_an_api_key_sees_the_whole_tenant(
    api: httpx.AsyncClient, march: March, make_staff: MakeStaff, uow_factory: UnitOfWorkFactory
) -> None:
    params = {"from": "2026-03-01", "to": "2026-04-01"}
    agent = await make_staff(march.tenant_id, roles=("agent",))
    refused = await api.get(SUMMARY, params=params, headers=agent.headers)
    assert refused.status_code == 403, refused.text
    assert "reports.read" in refused.json()["detail"]

    async with uow_factory(march.tenant_id) as uow:
        issued = await create_api_key(
            uow, actor=CLI, name="BI export", permissions=["reports.read"], grantable=None
        )
        await uow.commit()
    answered = await api.get(
        SUMMARY, params=params, headers={"Authorization": f"Bearer {issued.key}"}
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["whole_tenant"] is True
    assert answered.json()["total"]["conversations"] == 7


async def test_another_tenants_conversations_never_count(
    api: httpx.AsyncClient, march: March, make_staff: MakeStaff, make_tenant: MakeTenant
) -> None:
    """Row-level security and the tenant filter: another tenant's admin sees none of March's
    conversations."""
    other = await make_tenant()
    admin = await make_staff(other.tenant_id, roles=("admin",))
    params = {"from": "2026-03-01", "to": "2026-04-01", "group_by": "property"}

    theirs = (await api.get(SUMMARY, params=params, headers=admin.headers)).json()
    mine = (await api.get(SUMMARY, params=params, headers=march.admin.headers)).json()

    assert mine["total"]["conversations"] == 7
    assert (theirs["total"]["conversations"], theirs["total"]["inbound_messages"]) == (0, 0)
    assert theirs["groups"] == []


def test_the_route_is_in_the_openapi_document_with_its_permission() -> None:
    from typing import cast

    from workers.api.app import create_app
    from workers.api.services import Services

    spec = create_app(cast(Services, None)).openapi()
    operation = spec["paths"]["/api/v1/reports/summary"]["get"]
    assert operation["x-permission"] == "reports.read"
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {"from", "to", "group_by", "timezone"}
