"""Arbitrary and schema-shaped requests to every route, with a valid admin token: never a 5xx,
and every refusal is problem+json. Bodies are drawn from the app's own OpenAPI schemas (a small
JSON-schema-to-hypothesis translation below: near-valid bodies reach the routes' work, not just
their validation) or are random JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast
from uuid import uuid4

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import World, build_world, client_for
from tests.providers.fake_provider import FakeProvider
from workers.api.app import create_app
from workers.api.services import Services

SPEC = create_app(cast(Services, None)).openapi()
COMPONENTS = SPEC["components"]["schemas"]


def inline(schema: Any) -> Any:
    """The schema with every ``#/components/schemas/…`` reference replaced by its target."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return inline(COMPONENTS[ref.rsplit("/", 1)[-1]])
        return {key: inline(value) for key, value in schema.items() if key != "discriminator"}
    if isinstance(schema, list):
        return [inline(item) for item in schema]
    return schema


FORMATS: dict[str, st.SearchStrategy[str]] = {
    "uuid": st.uuids().map(str),
    "time": st.times().map(lambda t: t.isoformat()),
    "date-time": st.datetimes().map(lambda d: d.isoformat() + "Z"),
    "password": st.text(min_size=0, max_size=40),
}


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values near ``schema``: its types, enums, properties and bounds (patterns not enforced,
    so a share of the strings break them, as a client's would)."""
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            return st.one_of([from_schema(option) for option in schema[combinator]])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        properties = {name: from_schema(sub) for name, sub in schema.get("properties", {}).items()}
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {name: value for name, value in properties.items() if name in required},
            optional={name: value for name, value in properties.items() if name not in required},
        )
    if kind == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=4)
    if kind == "string":
        if schema.get("format") in FORMATS:
            return FORMATS[schema["format"]]
        size = {
            "min_size": min(schema.get("minLength", 0), 30),
            "max_size": min(schema.get("maxLength", 40), 40),
        }
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True) | st.text(**size)
        return st.text(**size)
    if kind == "integer":
        return st.integers(schema.get("minimum"), schema.get("maximum")) | st.integers()
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum")) | st.floats(allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return json_values


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def body_strategy(operation: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        schema = inline(content["application/json"]["schema"])
        return st.one_of(from_schema(schema), json_values).map(lambda body: ("json", body))
    if "application/x-www-form-urlencoded" in content:
        schema = inline(content["application/x-www-form-urlencoded"]["schema"])
        shaped = from_schema(schema) | st.dictionaries(st.text(max_size=10), st.text(max_size=20))
        return shaped.map(lambda form: ("form", form))
    return st.just(("none", None))


OPERATIONS = [
    (method.upper(), path, body_strategy(operation))
    for path, item in SPEC["paths"].items()
    for method, operation in item.items()
]
requests = st.sampled_from(OPERATIONS).flatmap(
    lambda op: st.tuples(
        st.just(op[0]),
        st.just(op[1]),
        op[2],
        st.sampled_from(["world", "random", "garbage"]),
    )
)


@pytest.fixture(scope="module")
async def fuzz_provider() -> AsyncIterator[FakeProvider]:
    """The world's channel provider: webhook registration and checks call it."""
    fake = FakeProvider()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture(scope="module")
async def fuzz_world(uow_factory: UnitOfWorkFactory, fuzz_provider: FakeProvider) -> World:
    return await build_world(uow_factory, provider_url=fuzz_provider.base_url)


def concrete(path: str, world: World, ids: str) -> str:
    for name, value in world.ids.items():
        replacement = {"world": value, "random": str(uuid4()), "garbage": "%20x'--"}[ids]
        if name == "version" and ids == "random":
            replacement = "99999999999"
        path = path.replace("{" + name + "}", replacement)
    return path


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(request=requests)
async def test_no_request_gets_a_server_error(
    api_app: FastAPI, fuzz_world: World, request: tuple[str, str, tuple[str, Any], str]
) -> None:
    method, path, (kind, body), ids = request
    headers = {"Authorization": f"Bearer {fuzz_world.tokens['admin']}"}
    if path == "/api/v1/ai/settings" or path.endswith(("/publish", "/settings")):
        headers["If-Match"] = "*"
    options: dict[str, Any] = {"headers": headers}
    if kind == "json":
        options["content"] = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    elif kind == "form":
        options["data"] = {str(k): str(v) for k, v in body.items()}
    async with client_for(api_app) as client:
        response = await client.request(method, concrete(path, fuzz_world, ids), **options)
    event(f"{response.status_code // 100}xx")
    assert response.status_code < 500, (method, path, body, response.text)
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/problem+json", response.text
        problem = response.json()
        assert {"type", "title", "status", "detail"} <= problem.keys()


async def test_malformed_json_is_a_422_naming_the_body(
    api: httpx.AsyncClient, fuzz_world: World
) -> None:
    response = await api.post(
        "/api/v1/knowledge/categories",
        content=b'{"slug": ',
        headers={
            "Authorization": f"Bearer {fuzz_world.tokens['admin']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["location"] == "body"
