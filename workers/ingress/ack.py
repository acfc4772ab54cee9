"""``/ack/{token}``: a staff member acknowledges a notification from the link in an alert.

``GET`` only shows a page: link-preview fetchers (Telegram, WhatsApp, Slack) open every link
in a chat, so a GET must change nothing. The page says who acknowledged and when, or offers a
button that POSTs; the POST publishes ``staff.acknowledged`` naming the alert target the link
was sent to, and the escalation consumer records it and stops re-alerting.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import structlog
from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from domain.ack_links import AckClaim, Acknowledgement, InvalidAckToken, read_token
from domain.events import NotificationAcknowledged
from workers.ingress.accept import EventPublisher
from workers.ingress.errors import IngressError, unavailable
from workers.ingress.metrics import RequestOutcome
from workers.runtime.publisher import PublishFailed

if TYPE_CHECKING:
    from persistence.uow import UnitOfWorkFactory

log = structlog.get_logger(__name__)

PAGE = (
    "<!doctype html><html><head><meta charset='utf-8'>"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<meta name='robots' content='noindex'><title>frontdesk</title></head>"
    "<body>{body}</body></html>"
)
CONFIRM = (
    "<p>Acknowledge this alert? The reminders stop for everyone it was sent to.</p>"
    "<form method='post' action=''><button type='submit'>Acknowledge</button></form>"
)
# The token in the URL is the credential: no caching, no referrer, no indexing.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex"}


class AcknowledgementLookup(Protocol):
    def __call__(
        self, *, tenant_id: UUID, notification_id: UUID
    ) -> Awaitable[Acknowledgement | None]: ...


def stored_acknowledgements(uow_factory: UnitOfWorkFactory) -> AcknowledgementLookup:
    """Read a notification's acknowledgement from the database, as the token's tenant."""

    async def lookup(*, tenant_id: UUID, notification_id: UUID) -> Acknowledgement | None:
        async with uow_factory(tenant_id) as uow:
            return await uow.notifications.acknowledgement(notification_id=notification_id)

    return lookup


def _page(body: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(body=body), status_code=status_code, headers=HEADERS)


def _acknowledged_page(state: Acknowledgement) -> HTMLResponse:
    at = state.acknowledged_at.astimezone(UTC) if state.acknowledged_at else None
    when = f" at {at:%Y-%m-%d %H:%M} UTC" if at else ""
    return _page(f"<p>Already acknowledged by {escape(state.who())}{escape(when)}.</p>")


def ack_router(
    *,
    publisher: EventPublisher,
    signing_key: bytes,
    retry_after: int,
    acknowledgements: AcknowledgementLookup | None = None,
) -> APIRouter:
    router = APIRouter(tags=["staff"])
    refused: dict[int | str, dict[str, Any]] = {
        403: {"description": "Forged or expired link"},
        404: {"description": "The alert no longer exists"},
    }

    def claim_of(token: str) -> AckClaim:
        try:
            return read_token(key=signing_key, token=token, now=datetime.now(UTC))
        except InvalidAckToken as exc:
            raise IngressError(
                403, f"invalid acknowledgement link: {exc}", outcome=RequestOutcome.FORBIDDEN
            ) from None

    async def state_of(claim: AckClaim) -> Acknowledgement:
        """The notification's state; an open one when it cannot be read (the POST decides)."""
        if acknowledgements is None:
            return Acknowledgement(None, None, None)
        try:
            state = await acknowledgements(
                tenant_id=claim.tenant_id, notification_id=claim.notification_id
            )
        except Exception as exc:  # the database is away: still let staff acknowledge
            log.warning("acknowledgement state unavailable", error=type(exc).__name__)
            return Acknowledgement(None, None, None)
        if state is None:
            raise IngressError(404, "this alert no longer exists", outcome=RequestOutcome.NOT_FOUND)
        return state

    @router.get(
        "/ack/{token}",
        response_class=HTMLResponse,
        summary="Show a staff notification's acknowledgement page (changes nothing)",
        responses=refused,
    )
    async def confirm(token: str) -> HTMLResponse:
        state = await state_of(claim_of(token))
        if state.acknowledged_at is not None:
            return _acknowledged_page(state)
        return _page(CONFIRM)

    @router.post(
        "/ack/{token}",
        response_class=HTMLResponse,
        summary="Acknowledge a staff notification",
        responses={**refused, 503: {"description": "Retry"}},
    )
    async def acknowledge(token: str) -> HTMLResponse:
        claim = claim_of(token)
        state = await state_of(claim)
        if state.acknowledged_at is not None:
            return _acknowledged_page(state)
        event = NotificationAcknowledged(
            tenant_id=claim.tenant_id,
            notification_id=claim.notification_id,
            target_id=claim.target_id,
        )
        try:
            await publisher.publish_many([event])
        except PublishFailed as exc:
            raise unavailable(
                "acknowledgement not confirmed by the broker", retry_after=retry_after
            ) from exc
        return _page("<p>Thanks \u2014 the alert is acknowledged.</p>")

    return router
