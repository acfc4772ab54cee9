"""Tenants, their properties, and what each property and assistant is configured with."""

from __future__ import annotations

from datetime import date, time
from typing import Any
from uuid import UUID

from sqlalchemy import Index, SmallInteger, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from persistence.models.base import Base, Row, TenantOwned, check, one_of, tenant_fk, tenant_keys

VERTICALS = ("hotel", "vacation_rental", "restaurant")


class Tenant(Base, Row):
    """The company: a hotel group, a vacation-rental manager, a restaurant chain."""

    __tablename__ = "tenants"
    __table_args__ = (
        UniqueConstraint("slug"),
        one_of("vertical", VERTICALS),
        check("slug_format", "slug ~ '^[a-z0-9][a-z0-9-]*$'"),
    )

    name: Mapped[str]
    slug: Mapped[str]
    vertical: Mapped[str]
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))


class Property(Base, TenantOwned):
    """A hotel, a rental listing or a restaurant."""

    __tablename__ = "properties"
    __table_args__ = tenant_keys(UniqueConstraint("tenant_id", "name"))

    name: Mapped[str]
    timezone: Mapped[str]
    address: Mapped[str | None]
    city: Mapped[str | None]
    country_code: Mapped[str | None]
    phone: Mapped[str | None]
    email: Mapped[str | None]


class PropertySettings(Base, TenantOwned):
    """House rules and the local times pre-arrival messages go out (one row per property)."""

    __tablename__ = "property_settings"
    __table_args__ = tenant_keys(
        UniqueConstraint("tenant_id", "property_id"),
        tenant_fk("property_id", "properties"),
        check("late_checkout_fee", "late_checkout_fee IS NULL OR late_checkout_fee >= 0"),
    )

    property_id: Mapped[UUID]
    check_in_time: Mapped[time] = mapped_column(server_default=text("'15:00'"))
    check_out_time: Mapped[time] = mapped_column(server_default=text("'11:00'"))
    early_check_in_available: Mapped[bool] = mapped_column(server_default=text("false"))
    early_check_in_from: Mapped[time | None]
    late_checkout_available: Mapped[bool] = mapped_column(server_default=text("false"))
    late_checkout_until: Mapped[time | None]
    late_checkout_fee: Mapped[int | None]
    parking: Mapped[str | None]
    pet_policy: Mapped[str | None]
    smoking_policy: Mapped[str | None]
    whatsapp_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    sms_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    email_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    telegram_enabled: Mapped[bool] = mapped_column(server_default=text("true"))
    # Local times (the property's time zone) the scheduler sends T-3 / T-1 / day-of messages.
    t_minus_3_at: Mapped[time] = mapped_column(server_default=text("'10:00'"))
    t_minus_1_at: Mapped[time] = mapped_column(server_default=text("'10:00'"))
    day_of_at: Mapped[time] = mapped_column(server_default=text("'09:00'"))
    extra: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))


class AssistantProfile(Base, TenantOwned):
    """How the tenant's assistant introduces itself (one per tenant)."""

    __tablename__ = "assistant_profiles"
    __table_args__ = tenant_keys(UniqueConstraint("tenant_id"), one_of("vertical", VERTICALS))

    assistant_name: Mapped[str]
    timezone: Mapped[str]
    vertical: Mapped[str]
    greeting: Mapped[str | None]


class BusinessHours(Base, TenantOwned):
    """One shift when staff are on duty, a property's or a team's, on an ISO weekday (1 =
    Monday): several rows make split shifts; an ``overnight`` shift ends the next day (at
    ``closes_at``; opens = closes overnight is a 24-hour shift). A day without rows is off."""

    __tablename__ = "business_hours"
    __table_args__ = tenant_keys(
        Index(
            "ix_business_hours_tenant_id_property_id_weekday", "tenant_id", "property_id", "weekday"
        ),
        Index("ix_business_hours_tenant_id_team_id_weekday", "tenant_id", "team_id", "weekday"),
        tenant_fk("property_id", "properties"),
        tenant_fk("team_id", "teams"),
        check("weekday", "weekday BETWEEN 1 AND 7"),
        check("overnight", "overnight = (closes_at <= opens_at)"),
        check("one_owner", "num_nonnulls(property_id, team_id) = 1"),
    )

    property_id: Mapped[UUID | None]
    team_id: Mapped[UUID | None]
    weekday: Mapped[int] = mapped_column(SmallInteger)
    opens_at: Mapped[time]
    closes_at: Mapped[time]
    overnight: Mapped[bool] = mapped_column(server_default=text("false"))


class Holiday(Base, TenantOwned):
    """A day without business hours at a property, or (no property) at every property: shifts
    that would start on it do not happen."""

    __tablename__ = "holidays"
    __table_args__ = tenant_keys(
        Index(
            "uq_holidays_property_day",
            "tenant_id",
            "property_id",
            "day",
            unique=True,
            postgresql_where=text("property_id IS NOT NULL"),
        ),
        Index(
            "uq_holidays_every_property_day",
            "tenant_id",
            "day",
            unique=True,
            postgresql_where=text("property_id IS NULL"),
        ),
        tenant_fk("property_id", "properties"),
    )

    property_id: Mapped[UUID | None]
    day: Mapped[date]
    name: Mapped[str]
