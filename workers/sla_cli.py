"""`frontdesk sla deadlines --tenant ID [--within MINUTES]` and `frontdesk sla sweep`: service
levels from a terminal.

``deadlines`` lists a tenant's running SLA targets due within the minutes given (overdue ones
first), like ``GET /api/v1/sla-deadlines`` for a supervisor. ``sweep`` records the warnings and
breaches due now across tenants, once, as the scheduler does every second (for an operator
whose schedulers were stopped; running it beside them is safe: each is recorded once).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

if TYPE_CHECKING:
    from workers.settings import Settings

sla_app = typer.Typer(help="See SLA deadlines and record what is due.", no_args_is_help=True)


def _settings() -> Settings:
    from workers.admin_cli import _settings as operator_settings

    return operator_settings()


async def deadline_lines(tenant: UUID, within: int) -> list[str]:
    from persistence.uow import UnitOfWorkFactory

    factory = UnitOfWorkFactory.from_settings(_settings())
    now = datetime.now(UTC)
    try:
        async with factory(tenant) as uow:
            if await uow.tenants.get() is None:
                raise typer.BadParameter(f"no tenant {tenant}", param_hint="--tenant")
            rows = await uow.service_levels.deadlines(
                before=now + timedelta(minutes=within), limit=500
            )
    finally:
        await factory.dispose()
    lines = [f"{len(rows)} due within {within} min"]
    for row in rows:
        left = int((row.due_at - now).total_seconds() // 60)
        state = "BREACHED" if row.breached else ("overdue" if left < 0 else f"{left} min left")
        lines.append(
            f"{row.conversation_id}  {row.kind:<15} {row.due_at.isoformat(timespec='minutes')}"
            f"  {state}  {row.status} {row.priority}"
        )
    return lines


@sla_app.command()
def deadlines(
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
    within: Annotated[
        int, typer.Option(min=0, max=10_080, help="Minutes ahead (overdue ones are always in).")
    ] = 60,
) -> None:
    """A tenant's running SLA targets due within MINUTES, soonest first."""
    for line in asyncio.run(deadline_lines(tenant, within)):
        typer.echo(line)


async def sweep_once() -> int:
    from persistence.uow import UnitOfWorkFactory
    from workers.scheduler.main import utc_now
    from workers.scheduler.service_levels import ServiceLevelSweeper

    factory = UnitOfWorkFactory.from_settings(_settings())
    try:
        return await ServiceLevelSweeper(uow_factory=factory, clock=utc_now).run_due(batch=1000)
    finally:
        await factory.dispose()


@sla_app.command()
def sweep() -> None:
    """Record the SLA warnings and breaches due now (each once), across tenants."""
    checked = asyncio.run(sweep_once())
    typer.echo(f"{checked} conversations checked")
