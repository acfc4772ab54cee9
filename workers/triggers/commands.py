"""`frontdesk triggers check FILE`, `frontdesk triggers list --tenant ID` and `frontdesk
triggers firings --tenant ID --trigger ID`: the API's checks and reads from a terminal.

``check`` reads a condition trigger's ``conditions`` (JSON) and names every offending part by its
dotted path, as ``POST /api/v1/triggers`` would; it needs no database.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

from domain.conditions import InvalidConditionsError, parse

if TYPE_CHECKING:
    from persistence.uow import UnitOfWorkFactory

triggers_app = typer.Typer(
    help="Check condition triggers and see what they did.", no_args_is_help=True
)


@triggers_app.command("check")
def check(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The conditions JSON.")],
) -> None:
    """Check a condition trigger's conditions; exit 1 naming each offending part."""
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        typer.echo(f"{file}: not JSON ({exc})")
        raise typer.Exit(1) from None
    try:
        rule = parse(raw)
    except InvalidConditionsError as exc:
        for issue in exc.issues:
            typer.echo(f"conditions.{issue.path}".rstrip(".") + f": {issue.message}")
        raise typer.Exit(1) from None
    actions = ", ".join(action.type for action in rule.actions)
    delay = f" after {rule.delay_minutes} minutes" if rule.delay_minutes else ""
    typer.echo(f"ok: on {rule.event}{delay}, {len(rule.groups)} group(s) -> {actions}")


async def _read(tenant: UUID, read: Any) -> list[str]:
    """``read(uow)``'s lines, made inside the tenant's unit of work."""
    from persistence.uow import UnitOfWorkFactory
    from workers.admin_cli import _settings

    factory: UnitOfWorkFactory = UnitOfWorkFactory.from_settings(_settings())
    try:
        async with factory(tenant) as uow:
            lines: list[str] = await read(uow)
            return lines
    finally:
        await factory.dispose()


@triggers_app.command("list")
def list_triggers(tenant: Annotated[UUID, typer.Option(help="The tenant id.")]) -> None:
    """The tenant's triggers: id, kind, event, whether active, name."""
    from persistence.models import Trigger

    async def read(uow: Any) -> list[str]:
        lines = []
        for row in await uow.configuration.list_all(Trigger, Trigger.name):
            event = row.conditions.get("event", "-") if row.kind == "condition_based" else "-"
            state = "active" if row.active else "off"
            lines.append(f"{row.id}  {row.kind:<15} {event:<22} {state:<6} {row.name}")
        return lines

    for line in asyncio.run(_read(tenant, read)):
        typer.echo(line)


@triggers_app.command("firings")
def firings(
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
    trigger: Annotated[UUID, typer.Option(help="The trigger id.")],
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """What a condition trigger decided, newest first, with each action's outcome."""

    async def read(uow: Any) -> list[str]:
        lines = []
        for row in await uow.condition_triggers.list_firings(trigger_id=trigger, limit=limit):
            when = (row.decided_at or row.due_at or row.created_at).isoformat()
            lines.append(f"{when}  {row.status:<8} {row.event:<22} {row.subject}")
            for outcome in row.outcomes:
                said = outcome.get("detail") or ""
                lines.append(
                    f"    {outcome.get('action')}: {outcome.get('status')} {said}".rstrip()
                )
        return lines

    shown = asyncio.run(_read(tenant, read))
    for line in shown or ["no firings"]:
        typer.echo(line)
