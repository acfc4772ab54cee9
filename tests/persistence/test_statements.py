"""Compiled statements (``persistence.statements``): what they send, and how they run in a unit
of work's transaction (real PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest
from sqlalchemy import Integer, case, func, literal, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import DBAPIError, IntegrityError

from persistence.models import Message, Tenant
from persistence.models.conversations import MessageStatus
from persistence.statements import Compiled, param, table_of
from persistence.uow import UnitOfWorkFactory
from workers.runtime.classify import is_data_error

messages = table_of(Message)
tenants = table_of(Tenant)


def test_fixed_values_are_literals_and_only_named_parameters_are_sent() -> None:
    statement = Compiled.of(
        update(messages)
        .values(
            status=MessageStatus.CANCELLED, error=param("reason"), attempts=messages.c.attempts + 1
        )
        .where(
            messages.c.tenant_id == param("tenant_id"),
            messages.c.status.in_([MessageStatus.PENDING, MessageStatus.SENDING]),
        )
    )
    assert "status='cancelled'" in statement.sql
    assert "IN ('pending', 'sending')" in statement.sql
    assert "attempts + 1" in statement.sql
    assert sorted(statement.names) == ["reason", "tenant_id"]
    # The same name twice is one parameter.
    twice = Compiled.of(
        select(messages.c.id).where(
            messages.c.tenant_id == param("tenant_id"), messages.c.channel_id == param("tenant_id")
        )
    )
    assert twice.names == ("tenant_id",)


def test_a_fixed_text_is_quoted_as_postgresql_quotes_text() -> None:
    statement = Compiled.of(select(literal("it's")))
    assert "'it''s'" in statement.sql
    assert statement.names == ()
    # Also where no column gives the text a type (a CASE's values).
    chosen = Compiled.of(
        select(case((messages.c.attempts > 0, MessageStatus.SENDING), else_="it's first"))
    )
    assert "THEN 'sending' ELSE 'it''s first' END" in chosen.sql
    assert chosen.names == ()


def test_arguments_follow_the_statement_and_refuse_missing_or_unknown_names() -> None:
    statement = Compiled.of(
        select(messages.c.id).where(
            messages.c.tenant_id == param("tenant_id"), messages.c.content == param("text")
        )
    )
    assert statement.arguments({"text": "hi", "tenant_id": 1}) == [1, "hi"]
    with pytest.raises(TypeError, match=r"missing \['text'\]"):
        statement.arguments({"tenant_id": 1})
    with pytest.raises(TypeError, match=r"unknown \['txet'\]"):
        statement.arguments({"tenant_id": 1, "txet": "hi"})


def test_something_that_is_not_a_statement_is_refused() -> None:
    with pytest.raises(TypeError, match="not a SQL statement"):
        Compiled.of("SELECT 1")  # type: ignore[arg-type]


async def test_runs_in_the_unit_of_works_transaction_after_its_staged_rows(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    renamed = Compiled.of(select(tenants.c.name).where(tenants.c.id == param("tenant_id")))
    async with uow_factory(tenant.tenant_id) as uow:
        row = await uow.session.get(Tenant, tenant.tenant_id)
        assert row is not None
        row.name = "Renamed in the ORM"  # staged, not flushed
        # The compiled statement sees what the session staged (it is flushed first) ...
        assert await uow.sql.value(renamed, tenant_id=tenant.tenant_id) == "Renamed in the ORM"
        # ... in the same transaction: rolled back, nothing stays.
    async with uow_factory(tenant.tenant_id) as uow:
        assert await uow.sql.value(renamed, tenant_id=tenant.tenant_id) != "Renamed in the ORM"


async def test_json_parameters_are_sent_as_json(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    echo = Compiled.of(select(param("document", JSONB)["rooms"].astext, func.now()))
    async with uow_factory(tenant.tenant_id) as uow:
        row = await uow.sql.row(echo, document={"rooms": 12, "name": "Aurora"})
        assert row is not None
        assert row[0] == "12"
        assert row[1] <= datetime.now(UTC)


async def test_a_refused_statement_raises_what_the_session_raises_without_its_parameters(
    uow_factory: UnitOfWorkFactory, make_tenant
) -> None:
    tenant = await make_tenant()
    rename = Compiled.of(
        update(tenants).values(vertical=param("vertical")).where(tenants.c.id == param("tenant_id"))
    )
    secret = "not-a-vertical-s3cr3t"
    async with uow_factory(tenant.tenant_id) as uow:
        with pytest.raises(IntegrityError) as raised:
            await uow.sql.run(rename, tenant_id=tenant.tenant_id, vertical=secret)
    assert getattr(raised.value.orig, "sqlstate", None) == "23514"  # check_violation
    assert isinstance(raised.value.orig.__cause__, asyncpg.CheckViolationError)
    assert secret not in str(raised.value)
    # A value the database cannot take at all is a data error, as the runner classifies it.
    cast_text = Compiled.of(select(func.cast(param("text"), Integer)))
    async with uow_factory(tenant.tenant_id) as uow:
        with pytest.raises(DBAPIError) as raised_data:
            await uow.sql.value(cast_text, text="twelve")
    assert is_data_error(raised_data.value)
