"""The staff acknowledgement link: opening it changes nothing (link previews open every link);
the page's button POSTs and publishes staff.acknowledged naming the alert target; a forged,
expired or garbled link does nothing either way."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from domain.ack_links import make_token
from tests.ingress.conftest import Capture, Ingress


def token_for(
    ingress: Ingress, *, now: datetime, key: bytes | None = None
) -> tuple[str, str, str, str]:
    tenant_id, notification_id, target_id = uuid4(), uuid4(), uuid4()
    signing_key = key or ingress.settings.signing_key.get_secret_value().encode()
    token = make_token(
        key=signing_key,
        tenant_id=tenant_id,
        notification_id=notification_id,
        target_id=target_id,
        now=now,
    )
    return token, str(tenant_id), str(notification_id), str(target_id)


async def test_opening_the_link_shows_a_button_and_publishes_nothing(
    ingress: Ingress, capture: Capture
) -> None:
    token, _, _, _ = token_for(ingress, now=datetime.now(UTC))
    for _ in range(3):  # Telegram, WhatsApp and Slack each fetch a preview
        response = await ingress.client.get(f"/ack/{token}")
        assert response.status_code == 200
        assert "<form method='post'" in response.text
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["referrer-policy"] == "no-referrer"
    await capture.assert_nothing_published()
    assert ingress.publisher.calls == 0


async def test_the_button_publishes_the_acknowledgement_naming_the_target(
    ingress: Ingress, capture: Capture
) -> None:
    token, tenant_id, notification_id, target_id = token_for(ingress, now=datetime.now(UTC))
    response = await ingress.client.post(f"/ack/{token}")
    assert response.status_code == 200
    assert "acknowledged" in response.text
    [event] = await capture.events(1)
    assert event["type"] == "staff.acknowledged"
    assert (event["tenant_id"], event["notification_id"]) == (tenant_id, notification_id)
    assert event["target_id"] == target_id


async def test_forged_expired_and_garbled_links_are_refused(
    ingress: Ingress, capture: Capture
) -> None:
    forged, _, _, _ = token_for(ingress, now=datetime.now(UTC), key=b"someone else's key")
    expired, _, _, _ = token_for(ingress, now=datetime.now(UTC) - timedelta(days=30))
    for token in (forged, expired, "not-a-token", "A" * 80, "A" * 102):
        for method in ("GET", "POST"):
            response = await ingress.client.request(method, f"/ack/{token}")
            assert response.status_code == 403, (method, token)
            assert "invalid acknowledgement link" in response.json()["detail"]
    await capture.assert_nothing_published()


async def test_a_link_from_before_targets_were_named_still_acknowledges(
    ingress: Ingress, capture: Capture
) -> None:
    """Links sent before an upgrade keep working until they expire (no target to record)."""
    key = ingress.settings.signing_key.get_secret_value().encode()
    tenant_id, notification_id = uuid4(), uuid4()
    expires = int((datetime.now(UTC) + timedelta(days=1)).timestamp()).to_bytes(8, "big")
    payload = tenant_id.bytes + notification_id.bytes + expires
    raw = payload + hmac.new(key, payload, hashlib.sha256).digest()[:20]
    token = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    assert (await ingress.client.post(f"/ack/{token}")).status_code == 200
    [event] = await capture.events(1)
    assert UUID(event["notification_id"]) == notification_id
    assert event["target_id"] is None
