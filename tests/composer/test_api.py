"""The model settings API: the key write-only (never in an answer, an audit row or a log line),
the test call against a local OpenAI-compatible server, and usage per month."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

import httpx
import pytest

from persistence.models import Composition
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel, MakeStaff, api, api_app, api_services, hotel, make_staff
from tests.composer.fake_model import FakeModel, error, reply
from tests.pipeline.conftest import free_port, serve
from tests.test_secrets_in_logs import log_output

__all__ = ["api", "api_app", "api_services", "hotel", "log_output", "make_staff"]

MODEL = "/api/v1/ai/model"
KEY = f"sk-live-{uuid4().hex}"


@pytest.fixture(scope="module")
async def fake_model() -> AsyncIterator[tuple[FakeModel, str]]:
    fake = FakeModel()
    port = free_port()
    server, task = await serve(fake.app, port)
    yield fake, f"http://127.0.0.1:{port}"
    fake.released.set()
    server.should_exit = True
    with contextlib.suppress(Exception):
        await task


def settings(base_url: str, **values: object) -> dict[str, object]:
    return {
        "enabled": True,
        "base_url": base_url,
        "model": "local-llama",
        "api_key": KEY,
        "temperature": 0.3,
        "max_tokens": 300,
        "timeout_seconds": 5,
        "monthly_token_budget": 200_000,
        **values,
    }


async def test_the_key_is_write_only_and_masked_everywhere(
    api: httpx.AsyncClient, hotel: Hotel, log_output: io.StringIO
) -> None:
    headers = hotel.admin.headers
    before = await api.get(MODEL, headers=headers)
    assert before.status_code == 200, before.text
    assert before.json()["enabled"] is False
    assert before.json()["api_key_set"] is False

    saved = await api.put(MODEL, json=settings("http://127.0.0.1:9/v1"), headers=headers)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert (body["enabled"], body["model"], body["api_key_set"]) == (True, "local-llama", True)
    assert body["api_key_hint"] == f"…{KEY[-4:]}"
    kept = await api.put(
        MODEL, json={**settings("http://127.0.0.1:9/v1"), "api_key": None}, headers=headers
    )
    assert kept.json()["api_key_set"] is True
    read = await api.get(MODEL, headers=headers)
    audit = await api.get("/api/v1/audit", params={"resource": "ai_model"}, headers=headers)
    assert audit.status_code == 200, audit.text
    changes = [entry for entry in audit.json() if entry["resource"] == "ai_model"]
    assert len(changes) == 2
    assert {entry["new_values"]["api_key"] for entry in changes} == {"********"}
    assert changes[-1]["old_values"]["api_key"] is None  # before the first PUT: no key
    for text in (saved.text, kept.text, read.text, audit.text, log_output.getvalue()):
        assert KEY not in text

    removed = await api.put(
        MODEL, json={**settings("http://127.0.0.1:9/v1"), "api_key": ""}, headers=headers
    )
    assert removed.json()["api_key_set"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"base_url": None}, "body"),
        ({"base_url": "ftp://model.example"}, "body.base_url"),
        ({"base_url": "http://user:pw@model.example/v1"}, "body.base_url"),
        ({"temperature": 3}, "body.temperature"),
        ({"max_tokens": 0}, "body.max_tokens"),
        ({"timeout_seconds": 600}, "body.timeout_seconds"),
        ({"monthly_token_budget": -1}, "body.monthly_token_budget"),
        ({"surprise": 1}, "body.surprise"),
    ],
)
async def test_bad_settings_are_a_422_naming_the_field(
    api: httpx.AsyncClient, hotel: Hotel, change: dict[str, object], field: str
) -> None:
    response = await api.put(
        MODEL, json={**settings("http://127.0.0.1:9/v1"), **change}, headers=hotel.admin.headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in response.json()["detail"]
    assert KEY not in response.text


async def test_a_test_call_answers_with_reply_latency_and_usage(
    api: httpx.AsyncClient, hotel: Hotel, fake_model: tuple[FakeModel, str]
) -> None:
    fake, url = fake_model
    key = uuid4().hex
    model = fake.script(key, reply("Check-in is from the time in your booking.", prompt_tokens=50))
    headers = hotel.admin.headers
    unconfigured = await api.post(f"{MODEL}/test", json={"question": "Hi?"}, headers=headers)
    assert unconfigured.status_code == 409, unconfigured.text
    await api.put(MODEL, json=settings(f"{url}/t/{key}", enabled=False), headers=headers)

    answered = await api.post(f"{MODEL}/test", json={"question": "Check-in?"}, headers=headers)
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert body["reply"] == "Check-in is from the time in your booking."
    assert body["usage"] == {"prompt_tokens": 50, "completion_tokens": 30, "total_tokens": 80}
    assert body["latency_ms"] >= 0
    [call] = model.calls
    assert call["model"] == "local-llama"
    assert model.headers[0]["authorization"] == f"Bearer {KEY}"

    fake.script(key, error(500, f"upstream broke while using key {KEY}"))
    failed = await api.post(f"{MODEL}/test", json={"question": "Check-in?"}, headers=headers)
    assert failed.status_code == 502, failed.text
    assert failed.headers["content-type"] == "application/problem+json"
    assert (failed.json()["reason"], failed.json()["provider_status"]) == ("server_error", 500)
    assert "upstream broke" in failed.json()["detail"]
    assert KEY not in failed.text

    fake.script(key, error(429, "slow down", headers={"Retry-After": "7"}))
    limited = await api.post(f"{MODEL}/test", json={"question": "Check-in?"}, headers=headers)
    assert (limited.status_code, limited.json()["reason"]) == (502, "rate_limited")
    empty = await api.post(f"{MODEL}/test", json={}, headers=headers)
    assert empty.status_code == 422


async def test_usage_is_reported_per_month_and_model(
    api: httpx.AsyncClient,
    hotel: Hotel,
    make_staff: MakeStaff,
    uow_factory: UnitOfWorkFactory,
) -> None:
    tenant_id = hotel.tenant.tenant_id
    async with uow_factory(tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="telegram", handle=f"g-{uuid4().hex}")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=hotel.tenant.channel_id, at=datetime.now(UTC)
        )
        rows = [
            ("2026-11-03", "composed", 100, 20, 800),
            ("2026-11-20", "template", 90, 0, 5000),
            ("2026-11-30", "template", 0, 0, None),
            ("2026-12-01", "composed", 400, 40, 900),
        ]
        for day, outcome, prompt_tokens, completion_tokens, latency in rows:
            message = await uow.inbound.add(
                conversation_id=conversation.id,
                channel_id=hotel.tenant.channel_id,
                provider_message_id=uuid4().hex,
                content="Hi",
            )
            assert message is not None
            at = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
            uow.session.add(
                Composition(
                    tenant_id=tenant_id,
                    message_id=message.id,
                    conversation_id=conversation.id,
                    status="drafted",
                    claimed_at=at,
                    created_at=at,
                    model="local-llama",
                    outcome=outcome,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    latency_ms=latency,
                )
            )
        await uow.commit()

    november = await api.get(
        "/api/v1/ai/usage", params={"month": "2026-11"}, headers=hotel.admin.headers
    )
    assert november.status_code == 200, november.text
    report = november.json()
    assert (report["month"], report["tokens_used"]) == ("2026-11", 210)
    [model] = report["models"]
    assert (model["compositions"], model["calls"], model["composed"], model["template"]) == (
        3,
        2,
        1,
        2,
    )
    assert (model["prompt_tokens"], model["completion_tokens"]) == (190, 20)
    assert model["average_latency_ms"] == 2900

    lead = await make_staff(tenant_id, roles=("team_lead",))  # reports.read
    december = await api.get("/api/v1/ai/usage", params={"month": "2026-12"}, headers=lead.headers)
    assert december.json()["tokens_used"] == 440
    agent = await make_staff(tenant_id, roles=("agent",))
    refused = await api.get("/api/v1/ai/usage", headers=agent.headers)
    assert refused.status_code == 403
    for bad in ("2026-13", "26-11", "2026-1", "november"):
        response = await api.get(
            "/api/v1/ai/usage", params={"month": bad}, headers=hotel.admin.headers
        )
        assert response.status_code == 422, (bad, response.text)
    assert json.loads((await api.get("/api/v1/ai/usage", headers=lead.headers)).text)["month"]
