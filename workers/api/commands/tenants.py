"""Onboarding a tenant from nothing: the tenant, one property with its settings, the assistant
profile, AI settings and an admin who can sign in to the management API."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from persistence.repositories.access import AuditActor
from persistence.uow import UnitOfWorkFactory
from workers.api.commands import CommandError
from workers.api.commands.staff import add_user, check_password

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class InvalidTimezoneError(CommandError):
    """Not an IANA time zone name."""

    field = "timezone"


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTimezoneError(f"{name!r} is not an IANA time zone") from None
    return name


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63]
    return slug or "tenant"


@dataclass(frozen=True, slots=True)
class TenantCreated:
    tenant_id: UUID
    slug: str
    property_id: UUID
    admin_user_id: UUID


async def create_tenant(
    uow_factory: UnitOfWorkFactory,
    *,
    name: str,
    admin_email: str,
    admin_password: str,
    admin_name: str = "Administrator",
    slug: str | None = None,
    vertical: str = "hotel",
    property_name: str | None = None,
    timezone: str = "UTC",
    assistant_name: str = "Concierge",
    actor: AuditActor | None = None,
) -> TenantCreated:
    """Create the tenant in one transaction; a taken slug fails with ``IntegrityError``."""
    check_password(admin_password)
    check_timezone(timezone)
    slug = slug or slugify(name)
    if not SLUG.match(slug):
        raise ValueError(f"{slug!r} is not a slug (lower-case letters, digits and hyphens)")
    actor = actor or AuditActor(kind="system", label="frontdesk cli")
    tenant_id = uuid4()
    async with uow_factory(tenant_id) as uow:
        await uow.tenants.add(name=name, slug=slug, vertical=vertical)
        await uow.assistant_profiles.add(
            assistant_name=assistant_name, timezone=timezone, vertical=vertical
        )
        prop = await uow.properties.add(name=property_name or name, timezone=timezone)
        await uow.properties.add_settings(property_id=prop.id)
        await uow.ai_settings.add()
        admin = await add_user(
            uow,
            actor=actor,
            email=admin_email,
            full_name=admin_name,
            roles=("admin",),
            password=admin_password,
        )
        await uow.audit.add(
            actor=actor,
            resource="tenant",
            resource_id=tenant_id,
            action="create",
            new={
                "name": name,
                "slug": slug,
                "vertical": vertical,
                "property": prop.name,
                "timezone": timezone,
            },
        )
        await uow.commit()
    return TenantCreated(
        tenant_id=tenant_id, slug=slug, property_id=prop.id, admin_user_id=admin.id
    )
