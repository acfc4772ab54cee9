"""The staff acknowledgement link: a valid token publishes staff.acknowledged, nothing else does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from domain.ack_links import make_token
from tests.ingress.conftest import Capture, Ingress


def token_for(ingress: Ingress, *, now: datetime, key: bytes | None = None) -> tuple[str, str, str]:
    tenant_id, notification_id = uuid4(), uuid4()
    signing_key = key or ingress.settings.signing_key.get_secret_value().encode()
    token = make_token(
        key=signing_key, tenant_id=tenant_id, notification_id=notification_id, now=now
    )
    return token, str(tenant_id), str(notification_id)


async def test_valid_link_publishes_the_acknowledgement(ingress: Ingress, capture: Capture) -> None:
    token, tenant_id, notification_id = token_for(ingress, now=datetime.now(UTC))
    response = await ingress.client.get(f"/ack/{token}")
    assert response.status_code == 200
    assert "acknowledged" in response.text
    [event] = await capture.events(1)
    assert event["type"] == "staff.acknowledged"
    assert (event["tenant_id"], event["notification_id"]) == (tenant_id, notification_id)


async def test_forged_expired_and_garbled_links_are_refused(
    ingress: Ingress, capture: Capture
) -> None:
    forged, _, _ = token_for(ingress, now=datetime.now(UTC), key=b"someone else's key")
    expired, _, _ = token_for(ingress, now=datetime.now(UTC) - timedelta(days=30))
    for token in (forged, expired, "not-a-token", "A" * 80):
        response = await ingress.client.get(f"/ack/{token}")
        assert response.status_code == 403, token
        assert "invalid acknowledgement link" in response.json()["detail"]
    await capture.assert_nothing_published()
