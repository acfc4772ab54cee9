"""The declarative base, column conventions and the helpers every tenant-owned table uses.

Tables are declared without a schema: every connection's ``search_path`` names the frontdesk
schema (see ``persistence.db``), so the same metadata serves any schema name.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    MetaData,
    Numeric,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "pk": "pk_%(table_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        UUID: PG_UUID(as_uuid=True),
        datetime: DateTime(timezone=True),
        date: Date(),
        time: Time(timezone=False),
        str: Text(),
        Decimal: Numeric(),
        dict[str, Any]: JSONB(),
        list[str]: ARRAY(Text()),
    }


class Row:
    """A UUID primary key and ``created_at`` / ``updated_at`` (``updated_at`` moves on UPDATE)."""

    # Server-side values (defaults, updated_at) come back with RETURNING: an async session
    # cannot lazy-load an expired attribute later.
    __mapper_args__ = {"eager_defaults": True}

    # sort_order puts the key first and the timestamps last in CREATE TABLE, for readability.
    id: Mapped[UUID] = mapped_column(
        primary_key=True, default=uuid4, server_default=func.gen_random_uuid(), sort_order=-10
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), sort_order=100)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now(), sort_order=101
    )


class TenantOwned(Row):
    """A row of one tenant: deleting the tenant deletes it, and RLS keys on ``tenant_id``."""

    tenant_id: Mapped[UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), sort_order=-9
    )


class SoftDeleted:
    """Rows staff can delete and restore: readers filter on ``deleted_at IS NULL``."""

    deleted_at: Mapped[datetime | None] = mapped_column(default=None, sort_order=99)


def tenant_keys(*constraints: Any) -> tuple[Any, ...]:
    """``__table_args__`` for a tenant-owned table: UNIQUE(tenant_id, id) for composite FKs."""
    return (*constraints, UniqueConstraint("tenant_id", "id"))


def tenant_fk(
    column: str, target: str, *, ondelete: str | None = "CASCADE"
) -> ForeignKeyConstraint:
    """A composite FK ``(tenant_id, column) -> target(tenant_id, id)``: no pointing across tenants.

    ``ondelete="SET NULL"`` nulls only ``column`` (PostgreSQL 15's column list), never tenant_id.
    """
    if ondelete == "SET NULL":
        ondelete = f"SET NULL ({column})"
    return ForeignKeyConstraint(
        ["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"], ondelete=ondelete
    )


def one_of(column: str, values: Iterable[str], *, nullable: bool = False) -> CheckConstraint:
    """A CHECK that ``column`` holds one of ``values`` (enumerations are TEXT + CHECK)."""
    listed = ", ".join(f"'{value}'" for value in values)
    condition = f"{column} IN ({listed})"
    if nullable:
        condition = f"{column} IS NULL OR {condition}"
    return CheckConstraint(condition, name=column)


def check(name: str, condition: str) -> CheckConstraint:
    return CheckConstraint(condition, name=name)


def empty_array() -> Any:
    return text("'{}'::text[]")
