"""Guests, found or created by the handle they write from, and their reservations."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from persistence.models import Guest, GuestIdentity, Reservation
from persistence.repositories.base import Repository


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
    ) -> Guest:
        """The guest writing from ``handle``, created with its identity on first contact.

        Race-free: two first messages at once insert two guests, but only one identity wins
        the UNIQUE(tenant, kind, handle); the loser deletes its guest and reads the winner's.
        """
        existing = await self._find(kind=kind, handle=handle)
        if existing is not None:
            # A guest deleted by staff who writes again is a returning guest, not a new one.
            existing.deleted_at = None
            if display_name and not existing.full_name:
                existing.full_name = display_name
            await self.session.flush()
            return existing
        guest_id = uuid4()
        await self.session.execute(
            insert(Guest).values(
                id=guest_id,
                tenant_id=self.tenant_id,
                full_name=display_name,
                phone=phone,
                email=email,
            )
        )
        won = (
            await self.session.execute(
                insert(GuestIdentity)
                .values(
                    tenant_id=self.tenant_id,
                    guest_id=guest_id,
                    kind=kind,
                    handle=handle,
                    display_name=display_name,
                )
                .on_conflict_do_nothing(index_elements=["tenant_id", "kind", "handle"])
                .returning(GuestIdentity.id)
            )
        ).scalar_one_or_none()
        if won is None:
            await self.session.execute(
                delete(Guest).where(Guest.tenant_id == self.tenant_id, Guest.id == guest_id)
            )
        guest = await self._find(kind=kind, handle=handle)
        if guest is None:  # the winner's guest was hard-deleted meanwhile: retry the event
            raise LookupError(f"guest for {kind} handle vanished during upsert")
        return guest

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

    async def current(self, *, guest_id: UUID, property_id: UUID, on: date) -> Reservation | None:
        """The guest's stay at this property that covers ``on`` (arrival day to departure day)."""
        statement = (
            select(Reservation)
            .where(
                Reservation.tenant_id == self.tenant_id,
                Reservation.guest_id == guest_id,
                Reservation.property_id == property_id,
                Reservation.check_in <= on,
                Reservation.check_out >= on,
                Reservation.status.in_(("tentative", "confirmed", "checked_in")),
            )
            .order_by(Reservation.check_in.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

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
