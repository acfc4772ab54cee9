"""What every repository shares: the session, the tenant, the unit of work's compiled-statement
runner (``persistence.statements``), and a tenant-filtered ``get``."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models.base import TenantOwned
from persistence.statements import Sql

RowT = TypeVar("RowT", bound=TenantOwned)


class NotFoundError(LookupError):
    """A row the caller named does not exist for this tenant."""


class Repository:
    def __init__(self, session: AsyncSession, tenant_id: UUID, sql: Sql | None = None) -> None:
        self.session = session
        self.tenant_id = tenant_id
        # The unit of work's one runner (its transaction's connection); a repository made on
        # its own (a test's) gets its own.
        self.sql = sql if sql is not None else Sql(session)

    async def _get(
        self, model: type[RowT], row_id: UUID, *, for_update: bool = False
    ) -> RowT | None:
        statement = select(model).where(
            model.tenant_id == self.tenant_id,
            model.id == row_id,
        )
        if for_update:
            statement = statement.with_for_update()
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def _require(self, model: type[RowT], row_id: UUID) -> RowT:
        row = await self._get(model, row_id)
        if row is None:
            raise NotFoundError(f"{model.__tablename__} {row_id} not found")  # type: ignore[attr-defined]
        return row

    def _stage(self, row: Any) -> None:
        self.session.add(row)
