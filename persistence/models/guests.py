"""Guests (one person), their handles on each channel kind, and their reservations."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any
from uuid import UUID

from sqlalchemy import Index, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import (
    Base,
    SoftDeleted,
    TenantOwned,
    check,
    empty_array,
    one_of,
    tenant_fk,
    tenant_keys,
)
from persistence.models.channels import PROVIDERS

RESERVATION_STATUSES = (
    "tentative",
    "confirmed",
    "checked_in",
    "checked_out",
    "cancelled",
    "no_show",
)


class Guest(Base, TenantOwned, SoftDeleted):
    __tablename__ = "guests"
    __table_args__ = tenant_keys(
        Index("ix_guests_tenant_id_phone", "tenant_id", "phone"),
        Index("ix_guests_tenant_id_email", "tenant_id", "email"),
        check("phone_e164", "phone IS NULL OR phone ~ '^\\+[1-9][0-9]{6,14}$'"),
    )

    full_name: Mapped[str | None]
    phone: Mapped[str | None]
    email: Mapped[str | None]
    language: Mapped[str | None]
    preferences: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    notes: Mapped[str | None]


class GuestIdentity(Base, TenantOwned):
    """A handle a guest writes from: a phone on WhatsApp, a Telegram chat id, an e-mail address.

    ``kind`` is the provider, so the same phone on WhatsApp and SMS are two identities of one
    guest.
    """

    __tablename__ = "guest_identities"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "kind", "handle"),
        Index("ix_guest_identities_tenant_id_guest_id", "tenant_id", "guest_id"),
        tenant_fk("guest_id", "guests"),
        one_of("kind", PROVIDERS),
    )

    guest_id: Mapped[UUID]
    kind: Mapped[str]
    handle: Mapped[str]
    display_name: Mapped[str | None]


class Reservation(Base, TenantOwned):
    """A stay (or a table booking): the scheduler's pre-arrival messages key on check-in."""

    __tablename__ = "reservations"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "property_id", "external_ref"),
        Index("ix_reservations_tenant_id_check_in", "tenant_id", "check_in"),
        Index("ix_reservations_tenant_id_guest_id", "tenant_id", "guest_id"),
        tenant_fk("property_id", "properties"),
        tenant_fk("guest_id", "guests"),
        one_of("status", RESERVATION_STATUSES),
        check("dates_in_order", "check_out >= check_in"),
        check("party_size", "party_size IS NULL OR party_size > 0"),
    )

    property_id: Mapped[UUID]
    guest_id: Mapped[UUID]
    external_ref: Mapped[str | None]
    check_in: Mapped[date]
    check_out: Mapped[date]
    # Expected arrival / departure time when the PMS knows it (else the property's).
    check_in_time: Mapped[time | None]
    check_out_time: Mapped[time | None]
    # When the guest booked (the PMS's time; the row's creation when unknown).
    booked_at: Mapped[datetime | None]
    room_number: Mapped[str | None]
    room_type: Mapped[str | None]
    party_size: Mapped[int | None]
    status: Mapped[str] = mapped_column(server_default=text("'confirmed'"))
    # Labels from the PMS or staff (``VIP``); condition triggers test and add them.
    tags: Mapped[list[str]] = mapped_column(server_default=empty_array())
