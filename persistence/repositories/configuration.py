"""The tenant's configuration rows the management API edits one by one: teams and their
members, agent skills, business hours, WhatsApp templates, canned responses, staff alert
targets and integration credentials. Secrets go in encrypted and come out masked or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import delete, select

from domain.service_levels import Shift
from persistence.models import AgentSkill, BusinessHours, TeamMembership
from persistence.models.base import TenantOwned
from persistence.repositories.channels import SecretRepository

RowT = TypeVar("RowT", bound=TenantOwned)


class ConfigurationRepository(SecretRepository):
    async def get(self, model: type[RowT], row_id: UUID) -> RowT | None:
        """The tenant's row of ``model`` with this id."""
        return await self._get(model, row_id)

    async def list_all(self, model: type[RowT], *order_by: Any, **equal: Any) -> list[RowT]:
        """The tenant's rows of ``model``, those whose columns equal ``equal``, in ``order_by``."""
        statement = select(model).where(model.tenant_id == self.tenant_id)
        for column, value in equal.items():
            statement = statement.where(getattr(model, column) == value)
        statement = statement.order_by(*order_by, model.created_at)
        return list((await self.session.execute(statement)).scalars())

    async def add(self, model: type[RowT], **values: Any) -> RowT:
        row = model(**values)
        row.tenant_id = self.tenant_id
        self._stage(row)
        await self.session.flush()
        await self.session.refresh(row)
        return row

    async def remove(self, row: TenantOwned) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def membership(self, *, team_id: UUID, user_id: UUID) -> TeamMembership | None:
        statement = select(TeamMembership).where(
            TeamMembership.tenant_id == self.tenant_id,
            TeamMembership.team_id == team_id,
            TeamMembership.user_id == user_id,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def replace_skills(self, *, user_id: UUID, skills: Mapping[str, int]) -> list[AgentSkill]:
        """The agent's skills become exactly ``skills`` (name -> level 1..5)."""
        await self.session.execute(
            delete(AgentSkill).where(
                AgentSkill.tenant_id == self.tenant_id, AgentSkill.user_id == user_id
            )
        )
        for skill, level in skills.items():
            self._stage(
                AgentSkill(tenant_id=self.tenant_id, user_id=user_id, skill=skill, level=level)
            )
        await self.session.flush()
        return await self.list_all(AgentSkill, AgentSkill.skill, user_id=user_id)

    async def replace_hours(
        self,
        *,
        week: Sequence[Shift],
        property_id: UUID | None = None,
        team_id: UUID | None = None,
    ) -> list[BusinessHours]:
        """The property's (or the team's) shifts become exactly ``week``."""
        owner = (
            BusinessHours.property_id == property_id
            if property_id is not None
            else BusinessHours.team_id == team_id
        )
        await self.session.execute(
            delete(BusinessHours).where(BusinessHours.tenant_id == self.tenant_id, owner)
        )
        for shift in week:
            self._stage(
                BusinessHours(
                    tenant_id=self.tenant_id,
                    property_id=property_id,
                    team_id=team_id if property_id is None else None,
                    weekday=shift.weekday,
                    opens_at=shift.opens_at,
                    closes_at=shift.closes_at,
                    overnight=shift.overnight,
                )
            )
        await self.session.flush()
        statement = (
            select(BusinessHours)
            .where(BusinessHours.tenant_id == self.tenant_id, owner)
            .order_by(BusinessHours.weekday, BusinessHours.opens_at)
        )
        return list((await self.session.execute(statement)).scalars())

    def seal(self, plaintext: str) -> str:
        """``plaintext`` encrypted with the tenant's keys, for a ``*_encrypted`` column."""
        return self._cipher.encrypt(plaintext)

    def seal_json(self, values: Mapping[str, str]) -> str:
        return self._cipher.encrypt_json(values)

    def open(self, token: str) -> str:
        return self._cipher.decrypt(token)

    def open_json(self, token: str) -> dict[str, str]:
        return self._cipher.decrypt_json(token)
