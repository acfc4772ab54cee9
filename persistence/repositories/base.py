"""What every repository shares: the session, the tenant, and a tenant-filtered ``get``."""

from __future__ import annotations

from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from persistence.models.base import TenantOwned

RowT = TypeVar("RowT", bound=TenantOwned)


# Where a session keeps its transaction's asyncpg connection (``forget_driver`` drops it).
_DRIVER = "frontdesk.driver_connection"


def forget_driver(session: AsyncSession) -> None:
    """The session's transaction ended: its connection goes back to the pool."""
    session.info.pop(_DRIVER, None)


class NotFoundError(LookupError):
    """A row the caller named does not exist for this tenant."""


class Repository:
    def __init__(self, session: AsyncSession, tenant_id: UUID) -> None:
        self.session = session
        self.tenant_id = tenant_id

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

    async def _driver(self) -> Any:
        """The asyncpg connection under the session, in the session's transaction.

        For the statements every event or inbound message makes (inbox, outbox, intake's
        writes, the consumers' reads): a prepared statement through asyncpg costs about a
        fifth of the client CPU of the same statement through the ORM
        (``python -m bench.statements``). Rows staged in the session are
        flushed first, so what was written reads in order.
        """
        if self.session.new or self.session.dirty or self.session.deleted:
            await self.session.flush()
        driver = self.session.info.get(_DRIVER)
        if driver is None:
            connection = await self.session.connection()
            raw = await connection.get_raw_connection()
            driver = self.session.info[_DRIVER] = raw.driver_connection
        return driver

    def _stage(self, row: Any) -> None:
        self.session.add(row)
