"""`frontdesk limits show|channel --tenant ID`: the rate limits in force from a terminal, with
the same command as the API's ``PUT /channels/{id}/send-limit``.

``show`` lists the tenant's flood limit (one guest identity's messages a minute before
auto-replies stop) and each channel's send limit; ``channel`` sets a channel's own sends a
second (``--provider`` goes back to the provider's documented limit).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

if TYPE_CHECKING:
    from persistence.models import Channel
    from persistence.repositories.access import AuditActor
    from persistence.uow import UnitOfWork
    from workers.admin_cli import TenantWork as Work

limits_app = typer.Typer(help="See and set rate limits.", no_args_is_help=True)
TenantOption = Annotated[UUID, typer.Option(help="The tenant id.")]


def _echo(tenant: UUID, work: Work) -> None:
    from workers.admin_cli import echo_for_tenant

    echo_for_tenant(tenant, "frontdesk limits", work)


def send_limit_line(row: Channel) -> str:
    from workers.api.channels import send_limit_out

    limit = send_limit_out(row)
    if limit.per_second is None:
        sends = "not limited by frontdesk"
    else:
        sends = f"{limit.per_second:g}/s (burst {limit.burst})"
    chat = f", {limit.per_chat_per_second:g}/s per chat" if limit.per_chat_per_second else ""
    return f"{row.id}  {row.provider:<15} {row.name}: {sends}{chat} [{limit.source}]"


async def _show(uow: UnitOfWork, actor: AuditActor) -> list[str]:
    from domain.rate_limits import DEFAULT_INBOUND_PER_MINUTE

    settings = await uow.ai_settings.get()
    per_minute = settings.inbound_messages_per_minute if settings else DEFAULT_INBOUND_PER_MINUTE
    lines = [f"flood limit: {per_minute} messages a minute per guest identity"]
    lines += [send_limit_line(row) for row in await uow.channels.list_all()]
    return lines


async def _channel(
    uow: UnitOfWork, actor: AuditActor, *, channel_id: UUID, sends_per_second: Decimal | None
) -> list[str]:
    from workers.api.commands.send_limits import set_send_rate

    row = await set_send_rate(
        uow, actor=actor, channel_id=channel_id, sends_per_second=sends_per_second
    )
    return [send_limit_line(row)]


@limits_app.command("show")
def show(tenant: TenantOption) -> None:
    """The flood limit and each channel's send limit in force."""
    _echo(tenant, _show)


@limits_app.command("channel")
def channel(
    tenant: TenantOption,
    channel_id: Annotated[UUID, typer.Argument(help="The channel id.")],
    per_second: Annotated[
        str | None, typer.Option(help="The channel's own sends a second, e.g. 2.5.")
    ] = None,
    provider: Annotated[
        bool, typer.Option("--provider", help="Back to the provider's documented limit.")
    ] = False,
) -> None:
    """Set a channel's own send rate, or go back to its provider's limit."""
    if (per_second is None) == (not provider):
        typer.echo("frontdesk: pass either --per-second or --provider", err=True)
        raise typer.Exit(2)
    rate = None
    if per_second is not None:
        try:
            rate = Decimal(per_second)
        except InvalidOperation:
            typer.echo("frontdesk: --per-second must be a number, e.g. 2.5", err=True)
            raise typer.Exit(2) from None
    _echo(tenant, partial(_channel, channel_id=channel_id, sends_per_second=rate))
