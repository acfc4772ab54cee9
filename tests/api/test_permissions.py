"""The permission matrix, generated from the app's own OpenAPI document: a new route cannot
skip it. Every ``/api/v1`` route but the sign-in ones declares a permission; for each, every
role and API key holding it gets past authorisation, every one without it gets 403, bad tokens
get 401, and another tenant's object is 404."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI

from persistence.demo.flows import TABLE_BOOKING
from persistence.flows import install
from persistence.repositories.documents import DocumentContent
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import CLI, ROLES, World, build_world, client_for
from tests.providers.fake_provider import FakeProvider
from workers.api.app import PUBLIC_PATHS, create_app
from workers.api.commands.api_keys import create_api_key
from workers.api.security import SIGNED_IN
from workers.api.services import Services

SPEC = create_app(cast(Services, None)).openapi()
OPERATIONS = [
    (method.upper(), path, operation.get("x-permission"))
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
    if path.startswith("/api/v1")
]
PROTECTED = [(m, p, permission) for m, p, permission in OPERATIONS if p not in PUBLIC_PATHS]
# Bodies that pass validation for routes naming an object, so the lookup (404) is reached.
VALID_BODIES = {
    ("PUT", "/api/v1/knowledge/documents/{document_id}"): {"title": "Rules", "content": "No pets."},
    ("POST", "/api/v1/assistant/preview"): {"text": "What time is check-in?"},
    ("POST", "/api/v1/knowledge/items/{item_id}/examples"): {
        "message_id": "00000000-0000-4000-8000-000000000000"
    },
    ("PUT", "/api/v1/users/{user_id}/roles"): {"roles": ["agent"]},
    ("PUT", "/api/v1/templates/{template_id}"): {"body": "Hi {{ guest.first_name }}"},
    ("PATCH", "/api/v1/flows/scenarios/{scenario_id}"): {"active": True},
    ("POST", "/api/v1/flows/scenarios/{scenario_id}/versions"): {"flow": TABLE_BOOKING},
    ("PUT", "/api/v1/users/{user_id}/skills"): {"skills": [{"skill": "lang:es", "level": 4}]},
    ("PUT", "/api/v1/properties/{property_id}/business-hours"): {
        "days": [{"weekday": 1, "opens_at": "08:00", "closes_at": "20:00"}]
    },
    ("PUT", "/api/v1/teams/{team_id}/business-hours"): {
        "days": [{"weekday": 1, "opens_at": "20:00", "closes_at": "08:00", "overnight": True}]
    },
}

# Query strings that pass validation, so a holder of the permission gets the route's answer.
VALID_QUERIES = {
    ("GET", "/api/v1/reports/summary"): {"from": "2026-03-01", "to": "2026-04-01"},
}


def test_every_route_but_sign_in_declares_a_permission() -> None:
    assert len(PROTECTED) >= 35
    undeclared = [(m, p) for m, p, permission in PROTECTED if permission is None]
    assert undeclared == []
    assert {p for m, p, permission in OPERATIONS if permission is None} == set(PUBLIC_PATHS)
    for method, path, _ in PROTECTED:
        operation = SPEC["paths"][path][method.lower()]
        assert operation["security"] == [{"staff": []}, {"apiKey": []}], (method, path)


def url(path: str, world: World) -> str:
    for name, value in world.ids.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


async def call(
    client: httpx.AsyncClient, method: str, path: str, world: World, token: str | None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body: Any = VALID_BODIES.get((method, path), {}) if method in ("POST", "PUT", "PATCH") else None
    params = VALID_QUERIES.get((method, path))
    return await client.request(method, url(path, world), headers=headers, json=body, params=params)


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[FakeProvider]:
    """The worlds' channel provider (webhook registration and checks call it)."""
    fake = FakeProvider()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def worlds(uow_factory: UnitOfWorkFactory, provider: FakeProvider) -> tuple[World, World]:
    built = (
        await build_world(uow_factory, provider_url=provider.base_url),
        await build_world(uow_factory, provider_url=provider.base_url),
    )
    for world in built:
        await add_scenario(uow_factory, world)
        await add_document(uow_factory, world)
    return built


async def add_document(uow_factory: UnitOfWorkFactory, world: World) -> None:
    """A knowledge document (the document routes' ``{document_id}``)."""
    content = DocumentContent(
        title="House rules", format="text", content="No pets.", size_bytes=8, content_sha256="0"
    )
    async with uow_factory(world.tenant_id) as uow:
        document = await uow.documents.add(content=content)
        await uow.commit()
    world.ids["document_id"] = str(document.id)


async def add_scenario(uow_factory: UnitOfWorkFactory, world: World) -> None:
    """A bot scenario with a published version 1 (the flow routes' ``{scenario_id}``)."""
    async with uow_factory(world.tenant_id) as uow:
        published = await install(uow, name="world_flow", flow=TABLE_BOOKING, at=datetime.now(UTC))
        await uow.commit()
    world.ids["scenario_id"] = str(published.scenario.id)


@pytest.fixture(scope="module")
async def matrix_client(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(api_app) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "permission"), PROTECTED)
async def test_roles_and_keys_pass_exactly_with_the_permission(
    matrix_client: httpx.AsyncClient,
    worlds: tuple[World, World],
    uow_factory: UnitOfWorkFactory,
    method: str,
    path: str,
    permission: str,
) -> None:
    world, _ = worlds
    for role in ROLES:
        response = await call(matrix_client, method, path, world, world.tokens[role])
        allowed = permission == SIGNED_IN or permission in world.permissions[role]
        if allowed:
            assert response.status_code not in (401, 403), (role, response.text)
            assert response.status_code < 500, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.headers["content-type"] == "application/problem+json"
    # API keys: one holding exactly this permission passes, one holding another does not.
    others = "audit.read" if permission != "audit.read" else "users.manage"
    async with uow_factory(world.tenant_id) as uow:
        keys = {}
        for granted in {permission, others} - {SIGNED_IN}:
            keys[granted] = (
                await create_api_key(
                    uow,
                    actor=CLI,
                    name=f"k-{uuid4().hex[:6]}",
                    permissions=[granted],
                    grantable=None,
                )
            ).key
        await uow.commit()
    if permission != SIGNED_IN:
        response = await call(matrix_client, method, path, world, keys[permission])
        assert response.status_code not in (401, 403), response.text
    response = await call(matrix_client, method, path, world, keys[others])
    assert response.status_code == (200 if permission == SIGNED_IN else 403), response.text


@pytest.mark.parametrize(("method", "path", "permission"), PROTECTED)
async def test_missing_forged_expired_and_deactivated_tokens_are_401(
    matrix_client: httpx.AsyncClient,
    worlds: tuple[World, World],
    method: str,
    path: str,
    permission: str,
) -> None:
    world, _ = worlds
    admin = world.tokens["admin"]
    forged = admin[:-4] + ("AAAA" if not admin.endswith("AAAA") else "BBBB")
    rejected = (world.tokens["deactivated"], world.tokens["expired"])
    for token in (None, "not-a-token", forged, "fdk_" + "x" * 43, *rejected):
        response = await call(matrix_client, method, path, world, token)
        assert response.status_code == 401, (token, response.text)
        assert response.headers["www-authenticate"] == "Bearer"


OBJECT_ROUTES = [(m, p, permission) for m, p, permission in PROTECTED if "_id}" in p]


@pytest.mark.parametrize(("method", "path", "permission"), OBJECT_ROUTES)
async def test_another_tenants_object_is_404(
    matrix_client: httpx.AsyncClient,
    worlds: tuple[World, World],
    method: str,
    path: str,
    permission: str,
) -> None:
    mine, theirs = worlds
    headers = {"Authorization": f"Bearer {mine.tokens['admin']}"}
    body = VALID_BODIES.get((method, path), {}) if method in ("POST", "PUT", "PATCH") else None
    response = await matrix_client.request(method, url(path, theirs), headers=headers, json=body)
    assert response.status_code == 404, response.text
    assert response.headers["content-type"] == "application/problem+json"
