"""reservations: a stay a PMS pushed to its signed webhook (``pms.reservation``) is applied as
``PUT /api/v1/reservations/{external_ref}`` applies one — the guest matched or created, the
stay created or updated, ``reservation.changed`` emitted and the change audited as the
integration's — in the consumer's transaction. A stay the data model refuses (an unknown
property, a phone that is not a number, check-out before check-in) is a permanent failure: a
dead letter with its cause, for the operator to read and replay once the PMS is fixed."""

from __future__ import annotations

import pydantic
import structlog

from domain.events import PmsReservationReceived
from persistence.repositories.access import AuditActor
from persistence.uow import UnitOfWork
from workers.api.reservations import ReservationIn, ReservationRefusedError, put_reservation
from workers.runtime.consumer import Consumer
from workers.runtime.errors import PermanentError

NAME = "reservations"
log = structlog.get_logger(__name__)


async def handle(event: PmsReservationReceived, uow: UnitOfWork) -> None:
    try:
        body = ReservationIn.model_validate(event.reservation)
    except pydantic.ValidationError as exc:
        fields = sorted({".".join(map(str, error["loc"])) for error in exc.errors()})
        raise PermanentError(f"the stay is not a reservation: {', '.join(fields)}") from None
    actor = AuditActor(kind="system", label=f"pms integration {event.integration_type}")
    try:
        out, created = await put_reservation(
            uow, external_ref=event.external_ref, body=body, actor=actor
        )
    except ReservationRefusedError as exc:
        raise PermanentError(f"stay {event.external_ref!r} refused: {exc}") from None
    log.info(
        "pms stay applied",
        reservation_id=str(out.id),
        created=created,
        integration_id=str(event.integration_id),
    )


def consumer() -> Consumer:
    return Consumer(
        name=NAME,
        routing_keys=(PmsReservationReceived.routing_key,),
        event_types=(PmsReservationReceived,),
        handle=handle,
    )
