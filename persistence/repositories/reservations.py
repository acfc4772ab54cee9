"""Reservations from a PMS, upserted by its id, and the guest each one belongs to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, cast
from uuid import UUID

from sqlalchemy import Table, Text, func, literal_column, select
from sqlalchemy.dialects.postgresql import insert

from persistence.models import Guest, GuestIdentity, Reservation
from persistence.repositories.guests import ReservationRepository as BaseReservationRepository
from persistence.statements import Compiled, param

identities = cast(Table, GuestIdentity.__table__)

# Every stay a PMS pushes takes this lock and links the guest's handles.
_LOCK = Compiled.of(
    select(
        func.pg_advisory_xact_lock(func.hashtextextended(param("key", Text), literal_column("0")))
    )
)
_CLAIM_HANDLE = Compiled.of(
    insert(identities)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        guest_id=param("guest_id"),
        kind=param("kind"),
        handle=param("handle"),
        display_name=param("display_name"),
    )
    .on_conflict_do_nothing(
        index_elements=[identities.c.tenant_id, identities.c.kind, identities.c.handle]
    )
)

PHONE_KINDS = ("green_api", "whatsapp_cloud", "twilio_sms")
# Columns a PMS update may change; a PUT that changes none of them is not a change.
STAY_FIELDS = (
    "guest_id",
    "check_in",
    "check_out",
    "check_in_time",
    "check_out_time",
    "room_number",
    "room_type",
    "party_size",
    "status",
)


@dataclass(frozen=True, slots=True)
class GuestDetails:
    full_name: str
    phone: str | None
    email: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class StayDetails:
    property_id: UUID
    external_ref: str
    check_in: date
    check_out: date
    check_in_time: time | None
    check_out_time: time | None
    room_number: str | None
    room_type: str | None
    party_size: int | None
    status: str
    booked_at: datetime | None
    # None: the stay keeps its tags; a tuple replaces them.
    tags: tuple[str, ...] | None = None


class ReservationRepository(BaseReservationRepository):
    async def find_by_ref(self, *, property_id: UUID, external_ref: str) -> Reservation | None:
        statement = select(Reservation).where(
            Reservation.tenant_id == self.tenant_id,
            Reservation.property_id == property_id,
            Reservation.external_ref == external_ref,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def lock_ref(self, *, property_id: UUID, external_ref: str) -> None:
        """Serialise writers of one PMS id until the transaction ends (two PUTs at once)."""
        key = f"reservation:{self.tenant_id}:{property_id}:{external_ref}"
        await self.sql.run(_LOCK, key=key)

    async def match_guest(self, *, details: GuestDetails, kinds: tuple[str, ...]) -> Guest:
        """The guest with this phone or e-mail (a handle first, then the guest's own fields),
        updated with the PMS's details; a new guest when none matches."""
        guest = await self._find_guest(details)
        if guest is None:
            guest = Guest(tenant_id=self.tenant_id, full_name=details.full_name)
            self._stage(guest)
        guest.full_name = details.full_name
        guest.deleted_at = None
        if details.phone is not None:
            guest.phone = details.phone
        if details.email is not None:
            guest.email = details.email
        if details.language is not None:
            guest.language = details.language
        await self.session.flush()
        for kind in kinds:
            handle = details.email if kind == "email" else details.phone
            if handle is not None and (kind == "email" or kind in PHONE_KINDS):
                await self.claim_handle(guest.id, kind, handle, details.full_name)
        return guest

    async def _find_guest(self, details: GuestDetails) -> Guest | None:
        for kinds, handle, column in (
            (PHONE_KINDS, details.phone, Guest.phone),
            (("email",), details.email, Guest.email),
        ):
            if handle is None:
                continue
            by_identity = (
                select(Guest)
                .join(
                    GuestIdentity,
                    (GuestIdentity.tenant_id == Guest.tenant_id)
                    & (GuestIdentity.guest_id == Guest.id),
                )
                .where(
                    GuestIdentity.tenant_id == self.tenant_id,
                    GuestIdentity.kind.in_(kinds),
                    GuestIdentity.handle == handle,
                )
                .order_by(Guest.created_at)
                .limit(1)
            )
            found = (await self.session.execute(by_identity)).scalar_one_or_none()
            if found is None:
                by_field = (
                    select(Guest)
                    .where(Guest.tenant_id == self.tenant_id, column == handle)
                    .order_by(Guest.deleted_at.is_not(None), Guest.created_at)
                    .limit(1)
                )
                found = (await self.session.execute(by_field)).scalar_one_or_none()
            if found is not None:
                return found
        return None

    async def claim_handle(self, guest_id: UUID, kind: str, handle: str, name: str | None) -> None:
        """Link the handle to the guest unless another guest already writes from it."""
        await self.sql.run(
            _CLAIM_HANDLE,
            tenant_id=self.tenant_id,
            guest_id=guest_id,
            kind=kind,
            handle=handle,
            display_name=name,
        )

    async def upsert(
        self, *, stay: StayDetails, guest_id: UUID, now: datetime
    ) -> tuple[Reservation, bool, bool]:
        """Create or update the stay by its PMS id: ``(row, created, changed)``."""
        await self.lock_ref(property_id=stay.property_id, external_ref=stay.external_ref)
        row = await self.find_by_ref(property_id=stay.property_id, external_ref=stay.external_ref)
        values: dict[str, Any] = {
            "guest_id": guest_id,
            "check_in": stay.check_in,
            "check_out": stay.check_out,
            "check_in_time": stay.check_in_time,
            "check_out_time": stay.check_out_time,
            "room_number": stay.room_number,
            "room_type": stay.room_type,
            "party_size": stay.party_size,
            "status": stay.status,
        }
        if stay.tags is not None:
            values["tags"] = list(stay.tags)
        if row is None:
            row = Reservation(
                tenant_id=self.tenant_id,
                property_id=stay.property_id,
                external_ref=stay.external_ref,
                booked_at=stay.booked_at or now,
                **values,
            )
            self._stage(row)
            await self.session.flush()
            return row, True, True
        changed = any(getattr(row, name) != values[name] for name in STAY_FIELDS)
        changed = changed or ("tags" in values and list(row.tags) != values["tags"])
        if stay.booked_at is not None and row.booked_at != stay.booked_at:
            row.booked_at = stay.booked_at
            changed = True
        if changed:
            for name, value in values.items():
                setattr(row, name, value)
            await self.session.flush()
            await self.session.refresh(row)
        return row, False, changed
