"""``GET /ack/{token}``: a staff member acknowledges a notification from the link in an alert.

The ingress writes nothing: it checks the token's signature and publishes
``staff.acknowledged``; the escalation consumer records who acknowledged and stops re-alerting.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from domain.ack_links import InvalidAckToken, read_token
from domain.events import NotificationAcknowledged
from workers.ingress.errors import IngressError, unavailable
from workers.ingress.intake import EventPublisher
from workers.runtime.publisher import PublishFailed

PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'><title>frontdesk</title></head>"
    "<body><p>{message}</p></body></html>"
)


def ack_router(*, publisher: EventPublisher, signing_key: bytes, retry_after: int) -> APIRouter:
    router = APIRouter(tags=["staff"])

    @router.get(
        "/ack/{token}",
        response_class=HTMLResponse,
        summary="Acknowledge a staff notification",
        responses={403: {"description": "Forged or expired link"}, 503: {"description": "Retry"}},
    )
    async def acknowledge(token: str) -> HTMLResponse:
        try:
            claim = read_token(key=signing_key, token=token, now=datetime.now(UTC))
        except InvalidAckToken as exc:
            raise IngressError(
                403, f"invalid acknowledgement link: {exc}", outcome="forbidden"
            ) from None
        event = NotificationAcknowledged(
            tenant_id=claim.tenant_id, notification_id=claim.notification_id
        )
        try:
            await publisher.publish_many([event])
        except PublishFailed as exc:
            raise unavailable(
                "acknowledgement not confirmed by the broker", retry_after=retry_after
            ) from exc
        return HTMLResponse(PAGE.format(message="Thanks — the alert is acknowledged."))

    return router
