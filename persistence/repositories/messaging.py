"""Templates and triggers: what the scheduler sends, and when."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import func, select, update

from persistence.models import Template, Trigger
from persistence.repositories.base import Repository


class TemplateRepository(Repository):
    async def get(self, *, template_id: UUID) -> Template | None:
        return await self._get(Template, template_id)

    async def find_for_rule(self, *, channel: str, rule_key: str) -> Template | None:
        """The live template for a channel kind (provider) and rule key (T_MINUS_3, ...)."""
        statement = select(Template).where(
            Template.tenant_id == self.tenant_id,
            Template.channel == channel,
            Template.rule_key == rule_key,
            Template.deleted_at.is_(None),
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def list_live(self) -> list[Template]:
        statement = (
            select(Template)
            .where(Template.tenant_id == self.tenant_id, Template.deleted_at.is_(None))
            .order_by(Template.channel, Template.rule_key)
        )
        return list((await self.session.execute(statement)).scalars())

    async def add(
        self,
        *,
        channel: str,
        rule_key: str,
        body: str,
        subject: str | None = None,
        language: str = "en",
    ) -> Template:
        row = Template(
            tenant_id=self.tenant_id,
            channel=channel,
            rule_key=rule_key,
            body=body,
            subject=subject,
            language=language,
            version=1,
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def revise(self, *, template_id: UUID, body: str, subject: str | None = None) -> bool:
        """Change a template's text and bump its version; False if it is gone."""
        result = await self.session.execute(
            update(Template)
            .where(
                Template.tenant_id == self.tenant_id,
                Template.id == template_id,
                Template.deleted_at.is_(None),
            )
            .values(body=body, subject=subject, version=Template.version + 1, updated_at=func.now())
            .returning(Template.id)
        )
        return result.scalar_one_or_none() is not None

    async def delete(self, *, template_id: UUID) -> bool:
        """Soft-delete; False if it was already deleted."""
        result = await self.session.execute(
            update(Template)
            .where(
                Template.tenant_id == self.tenant_id,
                Template.id == template_id,
                Template.deleted_at.is_(None),
            )
            .values(deleted_at=func.now())
            .returning(Template.id)
        )
        return result.scalar_one_or_none() is not None


class TriggerRepository(Repository):
    async def list_active(self) -> list[Trigger]:
        statement = (
            select(Trigger)
            .where(Trigger.tenant_id == self.tenant_id, Trigger.active)
            .order_by(Trigger.name)
        )
        return list((await self.session.execute(statement)).scalars())

    async def add(
        self,
        *,
        name: str,
        kind: str,
        template_id: UUID | None,
        property_id: UUID | None = None,
        conditions: dict[str, Any] | None = None,
    ) -> Trigger:
        row = Trigger(
            tenant_id=self.tenant_id,
            name=name,
            kind=kind,
            template_id=template_id,
            property_id=property_id,
            conditions=conditions or {},
            active=True,
        )
        self._stage(row)
        await self.session.flush()
        return row
