"""`frontdesk routing queue|rebalance|agent --tenant ID`: the router's queue and agents from a
terminal, with the same commands as the API's routing routes.

``rebalance`` hands the queue out now, oldest first (what the router does whenever capacity
appears; for an operator after changing skills or rules). Its assignments reach the staff
event stream through the outbox relay.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Annotated, Literal
from uuid import UUID

import typer

if TYPE_CHECKING:
    from persistence.repositories.access import AuditActor
    from persistence.uow import UnitOfWork
    from workers.admin_cli import TenantWork as Work

routing_app = typer.Typer(help="See and hand out the routing queue.", no_args_is_help=True)
TenantOption = Annotated[UUID, typer.Option(help="The tenant id.")]


def _echo(tenant: UUID, work: Work) -> None:
    from workers.admin_cli import echo_for_tenant

    echo_for_tenant(tenant, "frontdesk routing", work)


async def _queue(uow: UnitOfWork, actor: AuditActor) -> list[str]:
    now = datetime.now(UTC)
    waiting = await uow.routing.waiting()
    lines = [f"{len(waiting)} waiting"]
    for item in waiting:
        minutes = int((now - item.waiting_since).total_seconds() // 60)
        need = " ".join(
            part
            for part in (
                f"lang:{item.language}" if item.language else "",
                f"topic:{item.topic}" if item.topic else "",
            )
            if part
        )
        lines.append(f"{item.conversation_id}  {minutes} min  {need or '-'}")
    return lines


async def _rebalance(uow: UnitOfWork, actor: AuditActor) -> list[str]:
    from workers.api.commands.routing import rebalance

    made = await rebalance(uow, actor=actor, now=datetime.now(UTC))
    return [f"{len(made)} assigned"] + [f"{a.conversation_id} -> {a.user_id}" for a in made]


async def _agent(
    uow: UnitOfWork,
    actor: AuditActor,
    *,
    email: str,
    availability: Literal["online", "away", "offline"] | None,
    capacity: int | None,
) -> list[str]:
    from workers.api.commands.routing import set_agent_status

    user = await uow.staff.find_by_email(email=email)
    if user is None:
        raise ValueError(f"no staff member {email}")
    row = await set_agent_status(
        uow,
        actor=actor,
        user_id=user.id,
        now=datetime.now(UTC),
        availability=availability,
        capacity=capacity,
    )
    return [f"{user.email}: {row.availability}, capacity {row.capacity}"]


@routing_app.command("queue")
def queue(tenant: TenantOption) -> None:
    """The conversations waiting for an agent, oldest first, with what they need."""
    _echo(tenant, _queue)


@routing_app.command("rebalance")
def rebalance(tenant: TenantOption) -> None:
    """Hand the queue out now, oldest first, to agents online with the skills and room."""
    _echo(tenant, _rebalance)


@routing_app.command("agent")
def agent(
    tenant: TenantOption,
    email: Annotated[str, typer.Option(help="The staff member's e-mail.")],
    availability: Annotated[str | None, typer.Option(help="online, away or offline.")] = None,
    capacity: Annotated[
        int | None, typer.Option(min=0, max=200, help="Most open conversations.")
    ] = None,
) -> None:
    """Set a staff member's availability and/or capacity (online hands out what waits)."""
    if availability not in (None, "online", "away", "offline"):
        typer.echo("frontdesk: --availability must be online, away or offline", err=True)
        raise typer.Exit(2)
    _echo(
        tenant,
        partial(
            _agent,
            email=email,
            availability=availability,  # type: ignore[arg-type]
            capacity=capacity,
        ),
    )
