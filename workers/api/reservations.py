"""Reservations from a PMS: ``PUT /reservations/{external_ref}`` creates or updates a stay by the
PMS's own id (``reservations.write``, which API keys can hold); ``GET /reservations/{id}`` reads
one (``conversations.read``). Every change emits ``reservation.changed`` through the outbox in
the same transaction; the planner re-plans the stay's scheduled messages from it.

The guest is matched by phone (E.164) or e-mail, or created, and linked to the handles the
property's channels reach them on. ``frontdesk reservations import`` sends CSV rows through the
same command.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Response, status
from pydantic import AfterValidator, Field, StringConstraints

from domain.events import ReservationChanged
from domain.phone import normalize_phone
from persistence.models import Reservation
from persistence.repositories.access import AuditActor
from persistence.repositories.reservations import GuestDetails, Stay, StayDetails
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError
from workers.api.problems import not_found
from workers.api.schemas import Body, Email, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/reservations", tags=["reservations"])
Write = Annotated[Context, Depends(require("reservations.write"))]
Read = Annotated[Context, Depends(require("conversations.read"))]

Status = Literal["confirmed", "cancelled", "checked_in", "checked_out", "no_show"]
Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Language = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, pattern=r"^[a-zA-Z]{2}(-[a-zA-Z]{2})?$"
    ),
]
ReservationTag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50)
]
ExternalRef = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("must include a time zone offset")
    return value


class ReservationRefusedError(CommandError):
    """A reservation the data model cannot take; ``field`` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ReservationIn(Body):
    property_id: UUID
    guest_name: Name
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    email: Email | None = None
    language: Language | None = None
    check_in: date
    check_out: date
    check_in_time: time | None = None
    check_out_time: time | None = None
    room: Short | None = None
    room_type: Short | None = None
    party_size: Annotated[int, Field(ge=1, le=1000)] | None = None
    status: Status = "confirmed"
    booked_at: Annotated[datetime | None, AfterValidator(_aware)] = None
    # Labels condition triggers can test (``VIP``); absent: the stay keeps its tags.
    tags: Annotated[list[ReservationTag], Field(max_length=20)] | None = None


class GuestOut(Out):
    id: UUID
    full_name: str | None
    phone: str | None
    email: str | None
    language: str | None


class ReservationOut(Out):
    id: UUID
    external_ref: str | None
    property_id: UUID
    guest: GuestOut
    check_in: date
    check_out: date
    check_in_time: time | None
    check_out_time: time | None
    room: str | None
    room_type: str | None
    party_size: int | None
    status: str
    booked_at: datetime | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime


def _out(row: Reservation | Stay, guest: Any) -> ReservationOut:
    return ReservationOut(
        id=row.id,
        external_ref=row.external_ref,
        property_id=row.property_id,
        guest=GuestOut.model_validate(guest),
        check_in=row.check_in,
        check_out=row.check_out,
        check_in_time=row.check_in_time,
        check_out_time=row.check_out_time,
        room=row.room_number,
        room_type=row.room_type,
        party_size=row.party_size,
        status=row.status,
        booked_at=row.booked_at,
        tags=list(row.tags or []),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def put_reservation(
    uow: UnitOfWork,
    *,
    external_ref: str,
    body: ReservationIn,
    actor: AuditActor,
    now: datetime | None = None,
) -> tuple[ReservationOut, bool]:
    """Create or update the stay ``external_ref`` names; ``(reservation, created)``.

    Refuses (ReservationRefusedError, nothing written) a check-out before check-in, an unknown
    property, a phone that is not a number, a guest with neither phone nor e-mail."""
    now = now or datetime.now(UTC)
    if body.check_out < body.check_in:
        raise ReservationRefusedError("check_out", "must not be before check_in")
    place = await uow.properties.get(property_id=body.property_id)
    if place is None:
        raise ReservationRefusedError("property_id", "no such property")
    phone = None
    if body.phone:
        phone = normalize_phone(body.phone, place.country_code)
        if phone is None:
            raise ReservationRefusedError("phone", "not a valid phone number")
    if phone is None and body.email is None:
        raise ReservationRefusedError("phone", "a phone or an e-mail is needed to reach the guest")
    kinds = tuple(
        sorted(
            {channel.provider for channel in await uow.schedule.channels_at(property_id=place.id)}
        )
    )
    guest = await uow.reservations.match_guest(
        details=GuestDetails(
            full_name=body.guest_name, phone=phone, email=body.email, language=body.language
        ),
        kinds=kinds,
    )
    row, created, changed = await uow.reservations.upsert(
        stay=StayDetails(
            property_id=place.id,
            external_ref=external_ref,
            check_in=body.check_in,
            check_out=body.check_out,
            check_in_time=body.check_in_time,
            check_out_time=body.check_out_time,
            room_number=body.room,
            room_type=body.room_type,
            party_size=body.party_size,
            status=body.status,
            booked_at=body.booked_at,
            tags=tuple(dict.fromkeys(body.tags)) if body.tags is not None else None,
        ),
        guest_id=guest.id,
        now=now,
    )
    out = _out(row, guest)
    if changed:
        uow.emit(
            ReservationChanged(
                tenant_id=uow.tenant_id,
                reservation_id=row.id,
                status=row.status,
                created=created,
            )
        )
        await uow.audit.add(
            actor=actor,
            resource="reservation",
            resource_id=row.id,
            action="create" if created else "update",
            # Stay details only: the guest's contact details stay out of the audit.
            new=out.model_dump(mode="json", exclude={"guest"}),
        )
    return out, created


@router.put("/{external_ref}", response_model=ReservationOut)
async def upsert_reservation(
    external_ref: Annotated[str, Path(min_length=1, max_length=200)],
    body: ReservationIn,
    response: Response,
    context: Write,
) -> ReservationOut:
    """Create or update a reservation by the PMS's id (idempotent: the same body twice is one
    stay and one change)."""
    out, created = await put_reservation(
        context.uow, external_ref=external_ref.strip(), body=body, actor=context.principal.actor
    )
    await context.uow.commit()
    if created:
        response.status_code = status.HTTP_201_CREATED
    return out


@router.get("/{reservation_id}", response_model=ReservationOut)
async def get_reservation(reservation_id: UUID, context: Read) -> ReservationOut:
    stay = await context.uow.schedule.stay(reservation_id=reservation_id)
    if stay is None:
        raise not_found("reservation")
    return _out(stay.reservation, stay.guest)
