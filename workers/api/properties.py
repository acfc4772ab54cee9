"""Properties and their settings: read with ``conversations.read``, changed with
``tenant.manage``. Time zones are IANA names (checked with zoneinfo)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response, status
from pydantic import AfterValidator, Field, StringConstraints
from sqlalchemy import func

from persistence.models import Property, PropertySettings
from workers.api.commands.tenants import check_timezone
from workers.api.etags import IF_MATCH_RESPONSES, check_if_match, etag_of, required
from workers.api.problems import invalid, not_found
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/properties", tags=["properties"])
Read = Annotated[Context, Depends(require("conversations.read"))]
Manage = Annotated[Context, Depends(require("tenant.manage"))]


def _timezone(name: str) -> str:
    try:
        return check_timezone(name)
    except ValueError as exc:
        raise ValueError(str(exc)) from None


TimeZone = Annotated[str, StringConstraints(max_length=64), AfterValidator(_timezone)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class PropertyCreate(Body):
    name: Name
    timezone: TimeZone
    address: Short | None = None
    city: Short | None = None
    country_code: Country | None = None
    phone: Short | None = None
    email: Short | None = None


class PropertyUpdate(Body):
    name: Name | None = None
    timezone: TimeZone | None = None
    address: Short | None = None
    city: Short | None = None
    country_code: Country | None = None
    phone: Short | None = None
    email: Short | None = None


class PropertyOut(Out):
    id: UUID
    name: str
    timezone: str
    address: str | None
    city: str | None
    country_code: str | None
    phone: str | None
    email: str | None


class SettingsValues(Body):
    check_in_time: time | None = None
    check_out_time: time | None = None
    early_check_in_available: bool | None = None
    early_check_in_from: time | None = None
    late_checkout_available: bool | None = None
    late_checkout_until: time | None = None
    late_checkout_fee: Annotated[int, Field(ge=0, le=1_000_000)] | None = None
    parking: Short | None = None
    pet_policy: Short | None = None
    smoking_policy: Short | None = None
    whatsapp_enabled: bool | None = None
    sms_enabled: bool | None = None
    email_enabled: bool | None = None
    telegram_enabled: bool | None = None
    t_minus_3_at: time | None = None
    t_minus_1_at: time | None = None
    day_of_at: time | None = None
    extra: Annotated[dict[str, Any], Field(max_length=100)] | None = None


class SettingsOut(Out):
    property_id: UUID
    check_in_time: time
    check_out_time: time
    early_check_in_available: bool
    early_check_in_from: time | None
    late_checkout_available: bool
    late_checkout_until: time | None
    late_checkout_fee: int | None
    parking: str | None
    pet_policy: str | None
    smoking_policy: str | None
    whatsapp_enabled: bool
    sms_enabled: bool
    email_enabled: bool
    telegram_enabled: bool
    t_minus_3_at: time
    t_minus_1_at: time
    day_of_at: time
    extra: dict[str, Any]


NULLABLE_PROPERTY = frozenset({"address", "city", "country_code", "phone", "email"})
NULLABLE_SETTINGS = frozenset(
    {
        "early_check_in_from",
        "late_checkout_until",
        "late_checkout_fee",
        "parking",
        "pet_policy",
        "smoking_policy",
    }
)


def _set(row: object, values: dict[str, Any], *, nullable: frozenset[str]) -> None:
    """Apply a PATCH: a null clears an optional value and is refused for a required one."""
    for name, value in values.items():
        if value is None and name not in nullable:
            raise invalid(name, "cannot be null")
        setattr(row, name, value)


async def _property(context: Context, property_id: UUID) -> Property:
    row = await context.uow.properties.get(property_id=property_id)
    if row is None:
        raise not_found("property")
    return row


async def _settings(
    context: Context, property_id: UUID, *, for_update: bool = False
) -> PropertySettings:
    prop = await _property(context, property_id)
    row = await context.uow.properties.get_settings(property_id=prop.id, for_update=for_update)
    if row is None:
        row = await context.uow.properties.add_settings(property_id=prop.id)
    return row


@router.get("", response_model=list[PropertyOut])
async def list_properties(context: Read) -> list[PropertyOut]:
    return [PropertyOut.model_validate(row) for row in await context.uow.properties.list_all()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PropertyOut)
async def create_property(body: PropertyCreate, context: Manage) -> PropertyOut:
    """A new property with default settings."""
    row = await context.uow.properties.add(**body.model_dump())
    await context.uow.properties.add_settings(property_id=row.id)
    out = PropertyOut.model_validate(row)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="property",
        resource_id=row.id,
        action="create",
        new=out.model_dump(),
    )
    await context.uow.commit()
    return out


@router.get("/{property_id}", response_model=PropertyOut)
async def get_property(property_id: UUID, context: Read) -> PropertyOut:
    return PropertyOut.model_validate(await _property(context, property_id))


@router.patch("/{property_id}", response_model=PropertyOut)
async def update_property(property_id: UUID, body: PropertyUpdate, context: Manage) -> PropertyOut:
    row = await _property(context, property_id)
    old = PropertyOut.model_validate(row).model_dump()
    _set(row, body.model_dump(exclude_unset=True), nullable=NULLABLE_PROPERTY)
    await context.uow.session.flush()
    out = PropertyOut.model_validate(row)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="property",
        resource_id=row.id,
        action="update",
        old=old,
        new=out.model_dump(),
    )
    await context.uow.commit()
    return out


@router.get("/{property_id}/settings", response_model=SettingsOut)
async def get_settings(property_id: UUID, context: Read, response: Response) -> SettingsOut:
    row = await _settings(context, property_id)
    response.headers["ETag"] = etag_of(row.updated_at)
    return SettingsOut.model_validate(row)


@router.patch("/{property_id}/settings", response_model=SettingsOut, responses=IF_MATCH_RESPONSES)
async def update_settings(
    property_id: UUID,
    body: SettingsValues,
    context: Manage,
    response: Response,
    if_match: Annotated[str | None, Header(description="The ETag of the settings read")] = None,
) -> SettingsOut:
    """Change the named settings; the others stay as they are. ``If-Match`` must carry the
    ETag read (409 when they changed since)."""
    row = await _settings(context, property_id, for_update=True)
    check_if_match(required(if_match), etag_of(row.updated_at), "the property's settings")
    old = SettingsOut.model_validate(row).model_dump()
    _set(row, body.model_dump(exclude_unset=True), nullable=NULLABLE_SETTINGS)
    row.updated_at = func.now()  # every accepted change is a new version
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    out = SettingsOut.model_validate(row)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="property_settings",
        resource_id=row.id,
        action="update",
        old=old,
        new=out.model_dump(),
    )
    await context.uow.commit()
    response.headers["ETag"] = etag_of(row.updated_at)
    return out
