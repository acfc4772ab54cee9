"""`frontdesk reservations import FILE.csv --tenant ID` and `frontdesk schedule preview
--reservation ID`: the same commands as the API's routes, from a terminal.

The import takes one row per reservation (the header names the fields of
``PUT /api/v1/reservations/{external_ref}`` plus ``external_ref``); each row is its own
transaction, so a refused row costs nothing but itself, and the report names every refused
row with its reason.
"""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import typer

if TYPE_CHECKING:
    from persistence.uow import UnitOfWorkFactory

reservations_app = typer.Typer(help="Import reservations from a PMS export.", no_args_is_help=True)
schedule_app = typer.Typer(help="Inspect scheduled messages.", no_args_is_help=True)


@dataclass
class ImportReport:
    accepted: int = 0
    refused: list[tuple[int, str]] = field(default_factory=list)


def _row_values(row: dict[str, str | None]) -> dict[str, Any]:
    """A CSV row as the API's body: empty cells are absent."""
    return {
        key.strip(): value.strip()
        for key, value in row.items()
        if key and key.strip() != "external_ref" and value is not None and value.strip()
    }


async def import_rows(
    factory: UnitOfWorkFactory,
    tenant_id: UUID,
    rows: list[dict[str, str | None]],
    *,
    advance: Any = None,
) -> ImportReport:
    from pydantic import ValidationError

    from persistence.repositories.access import AuditActor
    from workers.api.commands import CommandError
    from workers.api.problems import field_errors
    from workers.api.reservations import ReservationIn, put_reservation

    actor = AuditActor(kind="system", label="reservations import")
    report = ImportReport()
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        reason = None
        external_ref = (row.get("external_ref") or "").strip()
        try:
            if not external_ref:
                raise CommandError("external_ref: is required")
            body = ReservationIn.model_validate(_row_values(row))
            async with factory(tenant_id) as uow:
                await put_reservation(uow, external_ref=external_ref, body=body, actor=actor)
                await uow.commit()
        except ValidationError as exc:
            reason = "; ".join(f"{e['field']}: {e['message']}" for e in field_errors(exc.errors()))
        except CommandError as exc:
            reason = str(exc)
        if reason is None:
            report.accepted += 1
        else:
            report.refused.append((line, reason))
        if advance is not None:
            advance()
    return report


@reservations_app.command("import")
def import_csv(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The CSV export.")],
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
) -> None:
    """Create or update reservations from a CSV file (one transaction per row)."""
    from rich.console import Console
    from rich.progress import Progress

    from persistence.uow import UnitOfWorkFactory
    from workers.admin_cli import _settings

    with file.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    console = Console()

    async def run() -> ImportReport:
        factory = UnitOfWorkFactory.from_settings(_settings())
        try:
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("importing", total=len(rows))
                return await import_rows(
                    factory, tenant, rows, advance=lambda: progress.advance(task)
                )
        finally:
            await factory.dispose()

    report = asyncio.run(run())
    typer.echo(f"{report.accepted} accepted, {len(report.refused)} refused")
    for line, reason in report.refused:
        typer.echo(f"  line {line}: {reason}")
    if report.refused:
        raise typer.Exit(1)


@schedule_app.command("preview")
def preview(
    reservation: Annotated[UUID, typer.Option(help="The reservation id.")],
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
) -> None:
    """What the reservation's guest will receive, when and on which channel."""
    from persistence.uow import UnitOfWorkFactory
    from workers.admin_cli import _settings
    from workers.api.schedule import scheduled_view

    async def run() -> list[Any]:
        factory = UnitOfWorkFactory.from_settings(_settings())
        try:
            async with factory(tenant) as uow:
                rows = await uow.schedule.list_for(reservation_id=reservation)
                return [await scheduled_view(uow, row) for row in rows]
        finally:
            await factory.dispose()

    shown = asyncio.run(run())
    if not shown:
        typer.echo("nothing scheduled for this reservation")
    for item in shown:
        typer.echo(
            f"{item.due_at.isoformat()}  {item.rule_key:<10} {item.status:<9} "
            f"{item.channel or '-':<15} {item.reason or ''}"
        )
        if item.text:
            typer.echo(f"    {item.text}")
