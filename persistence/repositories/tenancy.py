"""The tenant itself, its properties and their settings, and the assistant profile."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select

from persistence.models import AssistantProfile, Property, PropertySettings, Tenant
from persistence.repositories.base import Repository


class TenantRepository(Repository):
    async def get(self) -> Tenant | None:
        """The unit of work's tenant (None until it is added, or when it is not this tenant)."""
        statement = select(Tenant).where(Tenant.id == self.tenant_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, *, name: str, slug: str, vertical: str, active: bool = True) -> Tenant:
        """Create the unit of work's tenant: its id is the one the unit of work is bound to."""
        tenant = Tenant(id=self.tenant_id, name=name, slug=slug, vertical=vertical, active=active)
        self._stage(tenant)
        await self.session.flush()
        return tenant


class PropertyRepository(Repository):
    async def get(self, *, property_id: UUID) -> Property | None:
        return await self._get(Property, property_id)

    async def list_all(self) -> list[Property]:
        statement = (
            select(Property).where(Property.tenant_id == self.tenant_id).order_by(Property.name)
        )
        return list((await self.session.execute(statement)).scalars())

    async def find_by_name(self, *, name: str) -> Property | None:
        statement = select(Property).where(
            Property.tenant_id == self.tenant_id, Property.name == name
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, *, name: str, timezone: str, **details: Any) -> Property:
        """Add a property; ``details`` are optional columns (address, city, phone, ...)."""
        row = Property(tenant_id=self.tenant_id, name=name, timezone=timezone, **details)
        self._stage(row)
        await self.session.flush()
        return row

    async def get_settings(
        self, *, property_id: UUID, for_update: bool = False
    ) -> PropertySettings | None:
        statement = select(PropertySettings).where(
            PropertySettings.tenant_id == self.tenant_id,
            PropertySettings.property_id == property_id,
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add_settings(self, *, property_id: UUID, **values: Any) -> PropertySettings:
        """Add a property's settings; omitted columns take the database defaults."""
        row = PropertySettings(tenant_id=self.tenant_id, property_id=property_id, **values)
        self._stage(row)
        await self.session.flush()
        await self.session.refresh(row)
        return row


class AssistantProfileRepository(Repository):
    async def get(self) -> AssistantProfile | None:
        statement = select(AssistantProfile).where(AssistantProfile.tenant_id == self.tenant_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, *, assistant_name: str, timezone: str, vertical: str) -> AssistantProfile:
        row = AssistantProfile(
            tenant_id=self.tenant_id,
            assistant_name=assistant_name,
            timezone=timezone,
            vertical=vertical,
        )
        self._stage(row)
        await self.session.flush()
        return row
