"""Guests, found or created by the handle they write from, and their reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import select

from persistence.models import Guest, GuestIdentity, Reservation
from persistence.repositories.base import Repository

_FIND_BY_HANDLE = (
    "SELECT g.id, g.full_name, g.deleted_at IS NOT NULL FROM guest_identities i"
    " JOIN guests g ON g.tenant_id = i.tenant_id AND g.id = i.guest_id"
    " WHERE i.tenant_id = $1 AND i.kind = $2 AND i.handle = $3"
)
_REVIVE = (
    "UPDATE guests SET deleted_at = NULL, full_name = coalesce(full_name, $3), updated_at = now()"
    " WHERE tenant_id = $1 AND id = $2"
)
_ADD_GUEST = (
    "INSERT INTO guests (id, tenant_id, full_name, phone, email) VALUES ($1, $2, $3, $4, $5)"
)
_CLAIM_HANDLE = (
    "INSERT INTO guest_identities (tenant_id, guest_id, kind, handle, display_name)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, kind, handle) DO NOTHING RETURNING id"
)
_DROP_GUEST = "DELETE FROM guests WHERE tenant_id = $1 AND id = $2"
_CURRENT_STAY = (
    "SELECT r.id FROM reservations r"
    " JOIN channels c ON c.tenant_id = r.tenant_id AND c.property_id = r.property_id"
    " WHERE r.tenant_id = $1 AND r.guest_id = $2 AND c.id = $3"
    " AND r.check_in <= $4 AND r.check_out >= $4"
    " AND r.status IN ('tentative', 'confirmed', 'checked_in')"
    " ORDER BY r.check_in DESC LIMIT 1"
)


@dataclass(frozen=True, slots=True)
class GuestRef:
    """A guest as the intake knows it: enough to file a message under."""

    id: UUID
    full_name: str | None


class GuestRepository(Repository):
    async def get(self, *, guest_id: UUID) -> Guest | None:
        return await self._get(Guest, guest_id)

    async def find_by_handle(self, *, kind: str, handle: str) -> Guest | None:
        """The live guest behind a handle (``kind`` is the provider: green_api, telegram, ...)."""
        guest = await self._find(kind=kind, handle=handle)
        return guest if guest is not None and guest.deleted_at is None else None

    async def _find(self, *, kind: str, handle: str) -> Guest | None:
        statement = (
            select(Guest)
            .join(
                GuestIdentity,
                (GuestIdentity.tenant_id == Guest.tenant_id) & (GuestIdentity.guest_id == Guest.id),
            )
            .where(
                GuestIdentity.tenant_id == self.tenant_id,
                GuestIdentity.kind == kind,
                GuestIdentity.handle == handle,
            )
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def upsert_by_identity(
        self,
        *,
        kind: str,
        handle: str,
        display_name: str | None = None,
        phone: str | None = None,
        email: str | None = None,
    ) -> GuestRef:
        """The guest writing from ``handle``, created with its identity on first contact.

        Race-free: two first messages at once insert two guests, but only one identity wins
        the UNIQUE(tenant, kind, handle); the loser deletes its guest and reads the winner's.
        Every inbound message makes this call, so it is SQL through the driver.
        """
        driver = await self._driver()
        found = await driver.fetchrow(_FIND_BY_HANDLE, self.tenant_id, kind, handle)
        if found is not None:
            guest_id, full_name, deleted = found
            # A guest deleted by staff who writes again is a returning guest, not a new one.
            if deleted or (display_name and not full_name):
                await driver.execute(_REVIVE, self.tenant_id, guest_id, display_name)
            return GuestRef(id=guest_id, full_name=full_name or display_name)
        guest_id = uuid4()
        await driver.execute(_ADD_GUEST, guest_id, self.tenant_id, display_name, phone, email)
        won = await driver.fetchval(
            _CLAIM_HANDLE, self.tenant_id, guest_id, kind, handle, display_name
        )
        if won is not None:
            return GuestRef(id=guest_id, full_name=display_name)
        await driver.execute(_DROP_GUEST, self.tenant_id, guest_id)
        found = await driver.fetchrow(_FIND_BY_HANDLE, self.tenant_id, kind, handle)
        if found is None:  # the winner's guest was hard-deleted meanwhile: retry the event
            raise LookupError(f"guest for {kind} handle vanished during upsert")
        return GuestRef(id=found[0], full_name=found[1])

    async def add_identity(
        self, *, guest_id: UUID, kind: str, handle: str, display_name: str | None = None
    ) -> GuestIdentity:
        row = GuestIdentity(
            tenant_id=self.tenant_id,
            guest_id=guest_id,
            kind=kind,
            handle=handle,
            display_name=display_name,
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def handle_for(self, *, guest_id: UUID, kind: str) -> str | None:
        """The guest's handle on a channel kind (where a reply to them goes), if any."""
        statement = (
            select(GuestIdentity.handle)
            .where(
                GuestIdentity.tenant_id == self.tenant_id,
                GuestIdentity.guest_id == guest_id,
                GuestIdentity.kind == kind,
            )
            .order_by(GuestIdentity.created_at)
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_identities(self, *, guest_id: UUID) -> list[GuestIdentity]:
        statement = select(GuestIdentity).where(
            GuestIdentity.tenant_id == self.tenant_id, GuestIdentity.guest_id == guest_id
        )
        return list((await self.session.execute(statement)).scalars())


class ReservationRepository(Repository):
    async def get(self, *, reservation_id: UUID) -> Reservation | None:
        return await self._get(Reservation, reservation_id)

    async def add(
        self,
        *,
        property_id: UUID,
        guest_id: UUID,
        check_in: date,
        check_out: date,
        **details: Any,
    ) -> Reservation:
        """Add a stay; ``details`` are optional columns (room_number, room_type, status, ...)."""
        row = Reservation(
            tenant_id=self.tenant_id,
            property_id=property_id,
            guest_id=guest_id,
            check_in=check_in,
            check_out=check_out,
            **details,
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def current_via_channel(
        self, *, guest_id: UUID, channel_id: UUID, on: date
    ) -> UUID | None:
        """The id of the guest's stay covering ``on`` (arrival day to departure day) at the
        property the channel ``channel_id`` serves; the latest arrival wins."""
        driver = await self._driver()
        found: UUID | None = await driver.fetchval(
            _CURRENT_STAY, self.tenant_id, guest_id, channel_id, on
        )
        return found

    async def list_arriving(self, *, check_in: date) -> list[Reservation]:
        """Confirmed stays arriving on ``check_in`` (the scheduler's pre-arrival messages)."""
        statement = (
            select(Reservation)
            .where(
                Reservation.tenant_id == self.tenant_id,
                Reservation.check_in == check_in,
                Reservation.status == "confirmed",
            )
            .order_by(Reservation.created_at)
        )
        return list((await self.session.execute(statement)).scalars())
