"""A PMS pushing stays to its signed webhook, through the real ingress, RabbitMQ and the
`reservations` consumer: a signed stay becomes a reservation once however often it is posted;
a bad signature, no signature, an unknown or disabled integration and a body that is not a stay
are refused with the reason and publish nothing; a stay the data model refuses is a dead letter
with its cause."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import aio_pika
import httpx
import pytest
from sqlalchemy import select

from persistence.models import Reservation
from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import Hotel
from tests.pipeline.conftest import free_port, serve
from tests.support.waiting import eventually
from workers.consumers import reservations
from workers.ingress.pms import signature
from workers.ingress.server import build_app
from workers.ops.dead_letters import Action, Selection, sweep
from workers.runtime import headers
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for, delete_consumer
from workers.settings import Settings

SECRET = "pms-secret-" + uuid4().hex


@dataclass
class Pms:
    settings: Settings
    http: httpx.AsyncClient


@pytest.fixture
async def pms(database: Settings) -> AsyncIterator[Pms]:
    port = free_port()
    settings = database.model_copy(
        update={
            "exchange": f"test.pms.{uuid4().hex}",
            "public_base_url": f"http://127.0.0.1:{port}",
        }
    )
    consumer = reservations.consumer()
    await declare_for(settings.amqp_url, settings.exchange, [consumer.queues(settings.exchange)])
    server, task = await serve(build_app(settings), port)
    stop = asyncio.Event()
    worker = asyncio.create_task(run_workers(settings, [consumer], stop=stop))
    async with httpx.AsyncClient(base_url=settings.public_base_url, timeout=10.0) as http:
        yield Pms(settings, http)
    stop.set()
    await worker
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await task
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        channel = await connection.channel()
        await delete_consumer(channel, consumer.queues(settings.exchange))
        await channel.exchange_delete(settings.exchange)
    finally:
        await connection.close()


async def integration(
    api: httpx.AsyncClient, hotel: Hotel, kind: str = "pms", **credentials: str
) -> str:
    created = await api.post(
        "/api/v1/integrations",
        headers=hotel.admin.headers,
        json={"integration_type": kind, "credentials": credentials or {"webhook_secret": SECRET}},
    )
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def stay(hotel: Hotel, ref: str, **changes: Any) -> dict[str, Any]:
    return {
        "external_ref": ref,
        "property_id": str(hotel.tenant.property_id),
        "guest_name": "Anna Schmidt",
        "phone": "+49 151 23456789",
        "language": "de",
        "check_in": "2027-03-30",
        "check_out": "2027-04-02",
        **changes,
    }


async def post(
    pms: Pms,
    integration_id: str,
    body: dict[str, Any] | bytes,
    *,
    secret: str | None = SECRET,
    signed_ago: float = 0.0,
    signed: str | None = None,
) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json"}
    if secret is not None:
        stamp = int(time.time() - signed_ago)
        sent["X-Frontdesk-Signature"] = signed or signature(secret, raw, timestamp=stamp)
    return await pms.http.post(f"/webhooks/pms/{integration_id}", content=raw, headers=sent)


async def stays(uow_factory: UnitOfWorkFactory, tenant_id: UUID, ref: str) -> list[Reservation]:
    async with uow_factory(tenant_id) as uow:
        rows = list(
            (
                await uow.session.scalars(
                    select(Reservation).where(Reservation.external_ref == ref)
                )
            ).all()
        )
        uow.session.expunge_all()
    return rows


async def test_a_signed_stay_becomes_one_reservation_and_its_change_applies(
    pms: Pms, api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    integration_id = await integration(api, hotel)
    ref = f"PMS-{uuid4().hex[:8]}"
    for _ in range(2):  # the PMS retries: still one stay
        answered = await post(pms, integration_id, stay(hotel, ref))
        assert answered.status_code == 200, answered.text
        assert answered.json() == {"accepted": 1}
    [row] = await eventually(lambda: stays(uow_factory, hotel.tenant.tenant_id, ref))
    assert (str(row.check_in), row.status) == ("2027-03-30", "confirmed")

    cancelled = await post(pms, integration_id, stay(hotel, ref, status="cancelled"))
    assert cancelled.status_code == 200, cancelled.text

    async def cancelled_row() -> list[Reservation]:
        rows = await stays(uow_factory, hotel.tenant.tenant_id, ref)
        return rows if rows and rows[0].status == "cancelled" else []

    [row] = await eventually(cancelled_row)
    audit = await api.get("/api/v1/audit", headers=hotel.admin.headers)
    labels = {e["actor_label"] for e in audit.json() if e["resource"] == "reservation"}
    assert labels == {"pms integration pms"}
    assert SECRET not in audit.text


async def test_bad_requests_are_refused_with_the_reason_and_publish_nothing(
    pms: Pms, api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    integration_id = await integration(api, hotel)
    ref = f"PMS-{uuid4().hex[:8]}"
    unsigned = await post(pms, integration_id, stay(hotel, ref), secret=None)
    assert unsigned.status_code == 401, unsigned.text
    forged = await post(pms, integration_id, stay(hotel, ref), secret="not-the-secret")
    assert forged.status_code == 403, forged.text
    unknown = await post(pms, str(uuid4()), stay(hotel, ref))
    assert unknown.status_code == 404, unknown.text
    not_json = await post(pms, integration_id, b"<xml/>")
    assert not_json.status_code == 400, not_json.text
    not_a_stay = await post(pms, integration_id, stay(hotel, ref, check_in="soon", guest_name=""))
    assert not_a_stay.status_code == 422, not_a_stay.text
    named = {tuple(error["loc"]) for error in not_a_stay.json()["errors"]}
    assert named == {("check_in",), ("guest_name",)}
    disabled = await api.patch(
        f"/api/v1/integrations/{integration_id}",
        headers=hotel.admin.headers,
        json={"enabled": False},
    )
    assert disabled.status_code == 200, disabled.text
    gone = await post(pms, integration_id, stay(hotel, ref))
    assert gone.status_code == 404, gone.text
    without_secret = await integration(api, hotel, "channel-manager", api_token="x")
    refused = await post(pms, without_secret, stay(hotel, ref))
    assert refused.status_code == 403
    assert "webhook_secret" in refused.json()["detail"]
    assert await stays(uow_factory, hotel.tenant.tenant_id, ref) == []


async def test_a_stay_the_data_model_refuses_is_a_dead_letter_with_its_cause(
    pms: Pms, api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    integration_id = await integration(api, hotel)
    ref = f"PMS-{uuid4().hex[:8]}"
    answered = await post(pms, integration_id, stay(hotel, ref, property_id=str(uuid4())))
    assert answered.status_code == 200, answered.text
    queues = reservations.consumer().queues(pms.settings.exchange)

    async def dead_lettered() -> list[aio_pika.abc.AbstractIncomingMessage]:
        connection = await aio_pika.connect(pms.settings.amqp_url)
        try:
            channel = await connection.channel(publisher_confirms=True)
            result = await sweep(channel, queues, Selection(), Action.LIST)
        finally:
            await connection.close()
        return [m for m in result.matched if ref.encode() in m.body]

    [letter] = await eventually(dead_lettered)
    assert "property_id: no such property" in str(letter.headers[headers.ERROR])
    assert await stays(uow_factory, hotel.tenant.tenant_id, ref) == []


async def test_a_signature_without_a_timestamp_or_made_too_long_ago_is_refused(
    pms: Pms, api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    """A captured request replayed later could set an older state of a stay: the timestamp is
    inside the signature and must be within five minutes of the ingress's clock."""
    integration_id = await integration(api, hotel)
    ref = f"PMS-{uuid4().hex[:8]}"
    body = stay(hotel, ref)
    raw = json.dumps(body).encode()
    body_only = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    untimed = await post(pms, integration_id, body, signed=body_only)
    assert untimed.status_code == 403, untimed.text
    assert "t=<unix seconds>" in untimed.json()["detail"]
    replayed = await post(pms, integration_id, body, signed_ago=301)
    assert replayed.status_code == 403, replayed.text
    assert "replayed" in replayed.json()["detail"]
    from_the_future = await post(pms, integration_id, body, signed_ago=-301)
    assert from_the_future.status_code == 403, from_the_future.text
    # The timestamp is signed: moving it to now without the secret breaks the signature.
    old = signature(SECRET, raw, timestamp=int(time.time()) - 600)
    moved = f"t={int(time.time())},{old.split(',', 1)[1]}"
    forged = await post(pms, integration_id, body, signed=moved)
    assert forged.status_code == 403, forged.text
    assert "does not match" in forged.json()["detail"]
    assert await stays(uow_factory, hotel.tenant.tenant_id, ref) == []
    late_but_within = await post(pms, integration_id, body, signed_ago=240)
    assert late_but_within.status_code == 200, late_but_within.text
