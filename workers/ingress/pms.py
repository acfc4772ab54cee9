"""``POST /webhooks/pms/{integration_id}``: a PMS that pushes stays.

The body is one stay as ``PUT /api/v1/reservations/{external_ref}`` takes it, plus its
``external_ref``; it is signed ``X-Frontdesk-Signature: t=<unix seconds>,sha256=<hex
HMAC-SHA256, with the integration's webhook_secret, of "<t>." followed by the raw body>``. The
timestamp is inside the signature and must be within five minutes of the ingress's clock, so a
captured request replayed later (which could set an older state of a stay) is refused. The
ingress checks the signature and the body's shape (422 naming each field) and publishes
``pms.reservation``; the ``reservations`` consumer
applies it (an unknown property or a phone that is not a number is a dead letter with its
cause). Like every webhook, nothing is written here: a 200 means the event is on the broker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol
from uuid import UUID

import pydantic
import structlog
from fastapi import APIRouter, Header, Request
from pydantic import Field, StringConstraints

from domain.events import PmsReservationReceived
from persistence.directory import IntegrationRoute
from workers.api.reservations import ReservationIn
from workers.ingress.accept import EventPublisher
from workers.ingress.body import check_declared_size, read_body
from workers.ingress.errors import IngressError, malformed, not_found, unavailable
from workers.ingress.metrics import RequestOutcome
from workers.providers.base import secrets_equal, storable
from workers.runtime.publisher import PublishFailed

log = structlog.get_logger(__name__)
SIGNATURE_HEADER = "X-Frontdesk-Signature"
SECRET_NAME = "webhook_secret"  # noqa: S105 - the credential's name, not its value


class IntegrationLookup(Protocol):
    def __call__(self, integration_id: UUID) -> Awaitable[IntegrationRoute | None]: ...


class PmsStay(ReservationIn):
    """One stay pushed by a PMS: its own id and the reservation as the API takes it."""

    external_ref: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = Field(description="The PMS's own id of the stay")


SIGNATURE_TOLERANCE_SECONDS = 300
SIGNATURE_FORMAT = 't=<unix seconds>,sha256=<hex HMAC-SHA256 of "<t>." followed by the body>'


def signature(secret: str, body: bytes, *, timestamp: int) -> str:
    """What ``X-Frontdesk-Signature`` carries for ``body`` signed at ``timestamp``."""
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def check_signature(header: str, secret: str, body: bytes, *, now: float) -> None:
    """Refuse (403, with the reason) a signature that does not match, carries no timestamp, or
    was made more than ``SIGNATURE_TOLERANCE_SECONDS`` from ``now``."""
    parts = dict(part.strip().partition("=")[::2] for part in header.split(","))
    stamp = parts.get("t", "")
    if not stamp.isdigit() or not parts.get("sha256"):
        raise IngressError(
            403,
            f"{SIGNATURE_HEADER} must be {SIGNATURE_FORMAT}",
            outcome=RequestOutcome.FORBIDDEN,
        )
    timestamp = int(stamp)
    if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
        raise IngressError(
            403,
            f"the signature's timestamp is {abs(now - timestamp):.0f} s from the ingress's clock"
            f" (at most {SIGNATURE_TOLERANCE_SECONDS}): a delayed or replayed request; sign it"
            " again when sending it",
            outcome=RequestOutcome.FORBIDDEN,
        )
    if not secrets_equal(header.strip(), signature(secret, body, timestamp=timestamp)):
        raise IngressError(
            403, f"{SIGNATURE_HEADER} does not match the body", outcome=RequestOutcome.FORBIDDEN
        )


def pms_router(
    *,
    publisher: EventPublisher,
    integrations: IntegrationLookup | None,
    max_body_bytes: int,
    retry_after: int,
    clock: Callable[[], float] = time.time,
) -> APIRouter:
    router = APIRouter(tags=["pms"])

    async def integration_of(integration_id: UUID) -> IntegrationRoute:
        if integrations is None:
            raise not_found("unknown integration")
        try:
            found = await integrations(integration_id)
        except Exception as exc:  # the database is away: the PMS should retry
            log.warning("integration lookup failed", error=type(exc).__name__)
            raise unavailable(
                "the integration cannot be read now", retry_after=retry_after
            ) from None
        if found is None:
            raise not_found("unknown integration")
        return found

    @router.post(
        "/webhooks/pms/{integration_id}",
        summary="A PMS pushes a stay (created, changed or cancelled)",
        responses={
            200: {"description": "The stay is on its way to the reservations"},
            401: {"description": "No signature"},
            403: {
                "description": "The signature does not match the body, has no timestamp, or"
                " was made more than five minutes from the ingress's clock"
            },
            404: {"description": "No such integration (or it is disabled)"},
            413: {"description": "The body is larger than the ingress takes"},
            422: {"description": "The body is not a stay: each field named"},
            503: {"description": "Retry"},
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": PmsStay.model_json_schema()}},
            }
        },
    )
    async def receive(
        integration_id: UUID,
        request: Request,
        signed: Annotated[
            str | None, Header(alias=SIGNATURE_HEADER, description=SIGNATURE_FORMAT)
        ] = None,
    ) -> dict[str, int]:
        check_declared_size(request, max_body_bytes)
        integration = await integration_of(integration_id)
        body = await read_body(request, max_body_bytes)
        secret = integration.credentials.get(SECRET_NAME)
        if not secret:
            raise IngressError(
                403,
                f"the integration has no {SECRET_NAME} in its credentials",
                outcome=RequestOutcome.FORBIDDEN,
            )
        if not signed:
            raise IngressError(
                401, f"missing {SIGNATURE_HEADER} header", outcome=RequestOutcome.UNAUTHORIZED
            )
        check_signature(signed, secret, body, now=clock())
        try:
            loaded: Any = storable(json.loads(body))
        except (ValueError, RecursionError):
            raise malformed("the body is not JSON") from None
        try:
            stay = PmsStay.model_validate(loaded)
        except pydantic.ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise malformed("the body is not a stay", status_code=422, detail=errors) from None
        event = PmsReservationReceived(
            tenant_id=integration.tenant_id,
            integration_id=integration.integration_id,
            integration_type=integration.integration_type,
            external_ref=stay.external_ref,
            reservation=stay.model_dump(mode="json", exclude={"external_ref"}, exclude_unset=True),
        )
        try:
            await publisher.publish_many([event])
        except PublishFailed as exc:
            raise unavailable(
                "the stay was not confirmed by the broker", retry_after=retry_after
            ) from exc
        request.state.outcome = RequestOutcome.ACCEPTED
        return {"accepted": 1}

    return router
