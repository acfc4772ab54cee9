"""Guests, found or created by the handle they write from, and their reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Date, Text, delete, func, null, select, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models import Channel, Guest, GuestIdentity, Reservation
from persistence.repositories.base import Repository
from persistence.statements import Compiled, param, table_of

guests = table_of(Guest)
identities = table_of(GuestIdentity)
reservations = table_of(Reservation)
channels = table_of(Channel)

# Every inbound message makes these (upsert_by_identity, current_via_channel).
_FIND_BY_HANDLE = Compiled.of(
    select(guests.c.id, guests.c.full_name, guests.c.deleted_at.is_not(None))
    .select_from(
        identities.join(
            guests,
            (guests.c.tenant_id == identities.c.tenant_id) & (guests.c.id == identities.c.guest_id),
        )
    )
    .where(
        identities.c.tenant_id == param("tenant_id"),
        identities.c.kind == param("kind"),
        identities.c.handle == param("handle"),
    )
)
_THIS_GUEST = (guests.c.tenant_id == param("tenant_id"), guests.c.id == param("guest_id"))
_REVIVE = Compiled.of(
    update(guests)
    .where(*_THIS_GUEST)
    .values(
        deleted_at=null(),
        full_name=func.coalesce(guests.c.full_name, param("display_name", Text())),
        updated_at=func.now(),
    )
)
_ADD_GUEST = Compiled.of(
    insert(guests).values(
        id=param("guest_id"),
        tenant_id=param("tenant_id"),
        full_name=param("display_name"),
        phone=param("phone"),
        email=param("email"),
    )
)
# A handle is one guest's: the first to claim it keeps it (the reservations consumer too).
CLAIM_HANDLE = Compiled.of(
    insert(identities)
    .values(
        id=func.gen_random_uuid(),  # the server's, as the column's server default makes it
        tenant_id=param("tenant_id"),
        guest_id=param("guest_id"),
        kind=param("kind"),
        handle=param("handle"),
        display_name=param("display_name"),
    )
    .on_conflict_do_nothing(
        index_elements=[identities.c.tenant_id, identities.c.kind, identities.c.handle]
    )
    .returning(identities.c.id)
)
_DROP_GUEST = Compiled.of(delete(guests).where(*_THIS_GUEST))
# The reservation statuses of a stay that is still ahead or under way.
_STAYING = ("tentative", "confirmed", "checked_in")
_ON = param("on", Date())
_CURRENT_STAY = Compiled.of(
    select(reservations.c.id)
    .select_from(
        reservations.join(
            channels,
            (channels.c.tenant_id == reservations.c.tenant_id)
            & (channels.c.property_id == reservations.c.property_id),
        )
    )
    .where(
        reservations.c.tenant_id == param("tenant_id"),
        reservations.c.guest_id == param("guest_id"),
        channels.c.id == param("channel_id"),
        reservations.c.check_in <= _ON,
        reservations.c.check_out >= _ON,
        reservations.c.status.in_(_STAYING),
    )
    .order_by(reservations.c.check_in.desc())
    .limit(1)
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
        """
        handle_of = {"tenant_id": self.tenant_id, "kind": kind, "handle": handle}
        found = await self.sql.row(_FIND_BY_HANDLE, **handle_of)
        if found is not None:
            guest_id, full_name, deleted = found
            # A guest deleted by staff who writes again is a returning guest, not a new one.
            if deleted or (display_name and not full_name):
                await self.sql.run(
                    _REVIVE, tenant_id=self.tenant_id, guest_id=guest_id, display_name=display_name
                )
            return GuestRef(id=guest_id, full_name=full_name or display_name)
        guest_id = uuid4()
        await self.sql.run(
            _ADD_GUEST,
            guest_id=guest_id,
            tenant_id=self.tenant_id,
            display_name=display_name,
            phone=phone,
            email=email,
        )
        won = await self.sql.value(
            CLAIM_HANDLE, **handle_of, guest_id=guest_id, display_name=display_name
        )
        if won is not None:
            return GuestRef(id=guest_id, full_name=display_name)
        await self.sql.run(_DROP_GUEST, tenant_id=self.tenant_id, guest_id=guest_id)
        found = await self.sql.row(_FIND_BY_HANDLE, **handle_of)
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
        found: UUID | None = await self.sql.value(
            _CURRENT_STAY,
            tenant_id=self.tenant_id,
            guest_id=guest_id,
            channel_id=channel_id,
            on=on,
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
