"""Reservations from a PMS, upserted by its id, and the guest each one belongs to.

The reservations consumer applies every stay a PMS pushes (as the reservations API does), so
the statements are Core on the model tables, compiled at import, and return frozen rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, Text, any_, func, null, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models import Guest, GuestIdentity, Reservation
from persistence.repositories.guests import CLAIM_HANDLE
from persistence.repositories.guests import ReservationRepository as BaseReservationRepository
from persistence.statements import Compiled, Row, param, table_of

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


@dataclass(frozen=True, slots=True)
class MatchedGuest:
    """The guest a stay belongs to, as the PMS's details left them."""

    id: UUID
    full_name: str | None
    phone: str | None
    email: str | None
    language: str | None


@dataclass(frozen=True, slots=True)
class Stay:
    """A reservation as stored."""

    id: UUID
    property_id: UUID
    guest_id: UUID
    external_ref: str | None
    check_in: date
    check_out: date
    check_in_time: time | None
    check_out_time: time | None
    room_number: str | None
    room_type: str | None
    party_size: int | None
    status: str
    booked_at: datetime | None
    tags: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


def _stay(row: Row) -> Stay:
    values = list(row)
    tags = _STAY_COLUMNS.index("tags")
    values[tags] = tuple(values[tags] or ())
    return Stay(*values)


reservations = table_of(Reservation)
guests = table_of(Guest)
identities = table_of(GuestIdentity)

_STAY_COLUMNS = [field.name for field in fields(Stay)]
_stay_columns = [reservations.c[name] for name in _STAY_COLUMNS]
_guest_columns = [guests.c[field.name] for field in fields(MatchedGuest)]
# What a PMS push writes on a stay (its property and id name it).
_WRITTEN = [*STAY_FIELDS, "booked_at", "tags"]

# Writers of one PMS id wait for each other until the transaction ends (two PUTs at once).
_LOCK = Compiled.of(
    select(func.pg_advisory_xact_lock(func.hashtextextended(param("key", Text), 0)))
)
_FIND_BY_REF = Compiled.of(
    select(*_stay_columns).where(
        reservations.c.tenant_id == param("tenant_id"),
        reservations.c.property_id == param("property_id"),
        reservations.c.external_ref == param("external_ref"),
    )
)
_ADD_STAY = Compiled.of(
    insert(reservations)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        property_id=param("property_id"),
        external_ref=param("external_ref"),
        **{name: param(name) for name in _WRITTEN},
    )
    .returning(*_stay_columns)
)
_CHANGE_STAY = Compiled.of(
    update(reservations)
    .where(reservations.c.tenant_id == param("tenant_id"), reservations.c.id == param("id"))
    .values({name: param(name) for name in _WRITTEN})
    .returning(*_stay_columns)
)


def _guest_by_identity() -> Compiled:
    """The oldest guest writing from ``handle`` on one of ``kinds``."""
    return Compiled.of(
        select(*_guest_columns)
        .join(
            identities,
            (identities.c.tenant_id == guests.c.tenant_id) & (identities.c.guest_id == guests.c.id),
        )
        .where(
            identities.c.tenant_id == param("tenant_id"),
            identities.c.kind == any_(param("kinds", ARRAY(Text))),
            identities.c.handle == param("handle"),
        )
        .order_by(guests.c.created_at)
        .limit(1)
    )


def _guest_by(column: str) -> Compiled:
    """The guest whose own ``column`` is ``handle``, a live one before a deleted one."""
    return Compiled.of(
        select(*_guest_columns)
        .where(guests.c.tenant_id == param("tenant_id"), guests.c[column] == param("handle"))
        .order_by(guests.c.deleted_at.is_not(None), guests.c.created_at)
        .limit(1)
    )


_GUEST_BY_IDENTITY = _guest_by_identity()
_GUEST_BY_PHONE = _guest_by("phone")
_GUEST_BY_EMAIL = _guest_by("email")
_ADD_GUEST = Compiled.of(
    insert(guests)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        full_name=param("full_name"),
        phone=param("phone"),
        email=param("email"),
        language=param("language"),
    )
    .returning(*_guest_columns)
)


def _update_guest() -> Compiled:
    """The PMS's name (the guest is live again) and whichever of phone, e-mail and language it
    gave; no row when nothing changes, so the guest's ``updated_at`` stays."""
    phone = func.coalesce(param("phone", Text), guests.c.phone)
    email = func.coalesce(param("email", Text), guests.c.email)
    language = func.coalesce(param("language", Text), guests.c.language)
    full_name = param("full_name", Text)
    current = (guests.c.full_name, guests.c.deleted_at, guests.c.phone, guests.c.email)
    return Compiled.of(
        update(guests)
        .where(
            guests.c.tenant_id == param("tenant_id"),
            guests.c.id == param("id"),
            tuple_(*current, guests.c.language).is_distinct_from(
                tuple_(full_name, null(), phone, email, language)
            ),
        )
        .values(full_name=full_name, deleted_at=null(), phone=phone, email=email, language=language)
        .returning(*_guest_columns)
    )


_UPDATE_GUEST = _update_guest()


class ReservationRepository(BaseReservationRepository):
    async def find_by_ref(self, *, property_id: UUID, external_ref: str) -> Stay | None:
        row = await self.sql.row(
            _FIND_BY_REF,
            tenant_id=self.tenant_id,
            property_id=property_id,
            external_ref=external_ref,
        )
        return None if row is None else _stay(row)

    async def lock_ref(self, *, property_id: UUID, external_ref: str) -> None:
        """Serialise writers of one PMS id until the transaction ends (two PUTs at once)."""
        key = f"reservation:{self.tenant_id}:{property_id}:{external_ref}"
        await self.sql.run(_LOCK, key=key)

    async def match_guest(self, *, details: GuestDetails, kinds: tuple[str, ...]) -> MatchedGuest:
        """The guest with this phone or e-mail (a handle first, then the guest's own fields),
        updated with the PMS's details; a new guest when none matches."""
        found = await self._find_guest(details)
        values = {
            "tenant_id": self.tenant_id,
            "full_name": details.full_name,
            "phone": details.phone,
            "email": details.email,
            "language": details.language,
        }
        if found is None:
            row = await self.sql.row(_ADD_GUEST, **values)
        else:
            row = await self.sql.row(_UPDATE_GUEST, id=found.id, **values)
        guest = found if row is None else MatchedGuest(*row)
        assert guest is not None  # the insert returns its row
        for kind in kinds:
            handle = details.email if kind == "email" else details.phone
            if handle is not None and (kind == "email" or kind in PHONE_KINDS):
                await self.claim_handle(guest.id, kind, handle, details.full_name)
        return guest

    async def _find_guest(self, details: GuestDetails) -> MatchedGuest | None:
        for kinds, handle, by_field in (
            (PHONE_KINDS, details.phone, _GUEST_BY_PHONE),
            (("email",), details.email, _GUEST_BY_EMAIL),
        ):
            if handle is None:
                continue
            row = await self.sql.row(
                _GUEST_BY_IDENTITY, tenant_id=self.tenant_id, kinds=list(kinds), handle=handle
            )
            if row is None:
                row = await self.sql.row(by_field, tenant_id=self.tenant_id, handle=handle)
            if row is not None:
                return MatchedGuest(*row)
        return None

    async def claim_handle(self, guest_id: UUID, kind: str, handle: str, name: str | None) -> None:
        """Link the handle to the guest unless another guest already writes from it."""
        await self.sql.run(
            CLAIM_HANDLE,
            tenant_id=self.tenant_id,
            guest_id=guest_id,
            kind=kind,
            handle=handle,
            display_name=name,
        )

    async def upsert(
        self, *, stay: StayDetails, guest_id: UUID, now: datetime
    ) -> tuple[Stay, bool, bool]:
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
        if row is None:
            added = await self.sql.row(
                _ADD_STAY,
                tenant_id=self.tenant_id,
                property_id=stay.property_id,
                external_ref=stay.external_ref,
                booked_at=stay.booked_at or now,
                tags=list(stay.tags or ()),  # what the column defaults to when none are given
                **values,
            )
            assert added is not None
            return _stay(added), True, True
        changed = any(getattr(row, name) != values[name] for name in STAY_FIELDS)
        tags = list(row.tags) if stay.tags is None else list(stay.tags)
        changed = changed or tags != list(row.tags)
        booked_at = row.booked_at
        if stay.booked_at is not None and row.booked_at != stay.booked_at:
            booked_at, changed = stay.booked_at, True
        if not changed:
            return row, False, False
        updated = await self.sql.row(
            _CHANGE_STAY,
            tenant_id=self.tenant_id,
            id=row.id,
            booked_at=booked_at,
            tags=tags,
            **values,
        )
        assert updated is not None  # locked by its PMS id, never deleted meanwhile
        return _stay(updated), False, True
