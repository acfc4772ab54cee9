"""From the link in a real alert to the acknowledged notification: who took it, and when."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from domain.events import NotificationAcknowledged, decode
from persistence.uow import UnitOfWorkFactory
from tests.alerts.conftest import BASE_URL, SIGNING_KEY, Desk, MakeDispatcher
from tests.ingress.conftest import Capture, amqp, capture, make_settings
from tests.ingress.support import StaticChannels
from workers.consumers import escalation
from workers.ingress.ack import stored_acknowledgements
from workers.ingress.app import create_app
from workers.runtime.publisher import Publisher

__all__ = ["amqp", "capture"]  # the ingress tests' broker fixtures, used here too

ACK_URL = re.compile(re.escape(BASE_URL) + r"(/ack/[A-Za-z0-9_-]+)")


@pytest.fixture
async def ingress(
    capture: Capture, uow_factory: UnitOfWorkFactory, amqp_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        capture.exchange_name, amqp_url=amqp_url, signing_key=SIGNING_KEY.decode()
    )
    publisher = Publisher(amqp_url, capture.exchange_name, timeout=2.0)
    app = create_app(
        settings=settings,
        channels=StaticChannels(),
        publisher=publisher,
        acknowledgements=stored_acknowledgements(uow_factory),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://ingress"
    ) as client:
        yield client
    await publisher.close()


async def alert_links(desk: Desk, make_dispatcher: MakeDispatcher) -> tuple[str, str]:
    """Alert the desk once; the links the phone and the staff-room webhook received."""
    assert await desk.alert(await make_dispatcher())
    [phone] = desk.phone_alerts()
    [webhook] = desk.webhook_alerts()
    phone_link = ACK_URL.search(phone.json()["message"])
    webhook_link = ACK_URL.search(webhook.json()["text"])
    assert phone_link is not None
    assert webhook_link is not None
    return phone_link.group(1), webhook_link.group(1)


async def acknowledge(
    capture: Capture, uow_factory: UnitOfWorkFactory, desk: Desk
) -> NotificationAcknowledged:
    """What the escalation consumer does with the published event."""
    [body] = [(await capture.next()).body]
    event = decode(body)
    assert isinstance(event, NotificationAcknowledged)
    async with uow_factory(desk.tenant_id) as uow:
        await escalation.acknowledge(event, uow, now=datetime.now(UTC))
        await uow.commit()
    return event


async def test_the_phone_link_records_its_staff_user_and_shows_who_acknowledged(
    desk: Desk,
    make_dispatcher: MakeDispatcher,
    ingress: httpx.AsyncClient,
    capture: Capture,
    uow_factory: UnitOfWorkFactory,
) -> None:
    phone_link, _ = await alert_links(desk, make_dispatcher)

    page = await ingress.get(phone_link)
    assert page.status_code == 200
    assert "<form method='post'" in page.text
    await capture.assert_nothing_published()
    assert (await desk.notification()).status == "sent"

    assert (await ingress.post(phone_link)).status_code == 200
    event = await acknowledge(capture, uow_factory, desk)
    assert event.target_id == desk.phone_target_id
    notification = await desk.notification()
    assert notification.status == "acknowledged"
    assert notification.acknowledged_by == desk.user_id
    assert notification.acknowledged_via == "Night manager phone"
    assert notification.next_alert_at is None

    for method in ("GET", "POST"):  # afterwards: who and when, and nothing published again
        again = await ingress.request(method, phone_link)
        assert again.status_code == 200
        assert "Already acknowledged by Nina Night (Night manager phone) at " in again.text
        assert f"{notification.acknowledged_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in again.text
        assert "<form" not in again.text
    await capture.assert_nothing_published()


async def test_a_webhook_link_records_the_target_by_name(
    desk: Desk,
    make_dispatcher: MakeDispatcher,
    ingress: httpx.AsyncClient,
    capture: Capture,
    uow_factory: UnitOfWorkFactory,
) -> None:
    _, webhook_link = await alert_links(desk, make_dispatcher)
    assert (await ingress.post(webhook_link)).status_code == 200
    await acknowledge(capture, uow_factory, desk)
    notification = await desk.notification()
    assert (notification.acknowledged_by, notification.acknowledged_via) == (None, "Staff room")
    assert "Already acknowledged by Staff room at" in (await ingress.get(webhook_link)).text


async def test_a_link_to_an_alert_that_no_longer_exists_is_404(
    desk: Desk,
    make_dispatcher: MakeDispatcher,
    ingress: httpx.AsyncClient,
    capture: Capture,
    uow_factory: UnitOfWorkFactory,
) -> None:
    phone_link, _ = await alert_links(desk, make_dispatcher)
    async with uow_factory(desk.tenant_id) as uow:
        notification = await uow.notifications.get(notification_id=desk.notification_id)
        await uow.session.delete(notification)
        await uow.commit()
    for method in ("GET", "POST"):
        assert (await ingress.request(method, phone_link)).status_code == 404
    await capture.assert_nothing_published()
