"""`frontdesk report --tenant ID --from DATE --to DATE [--group-by ...] [--format ...]`: the
report ``GET /api/v1/reports/summary`` answers, for an operator, over the whole tenant.

``--format table`` (the default) is for reading; ``json`` is the API's document; ``csv`` has
one line per group and a last line ``total``, with the API's field names as the header.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import typer

if TYPE_CHECKING:
    from workers.api.reports import ReportRow, Summary


class Grouping(StrEnum):
    none = "none"
    property = "property"
    team = "team"
    agent = "agent"
    channel = "channel"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


TABLE_COLUMNS = (
    ("group", 24),
    ("convs", 6),
    ("answered", 8),
    ("1st resp p50/p90/p95", 22),
    ("resolved", 8),
    ("resolution p50/p90/p95", 24),
    ("inbound", 7),
    ("reply", 6),
    ("escal.", 6),
    ("skip", 6),
    ("SLA 1st/next/resol.", 21),
)


def duration(seconds: float | None) -> str:
    """``45s``, ``3m05s``, ``2h07m``, ``3d04h``; ``-`` for none."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def percent(share: float | None) -> str:
    return "-" if share is None else f"{share * 100:.1f}%"


def _cells(row: ReportRow) -> list[str]:
    first = (row.first_response_p50, row.first_response_p90, row.first_response_p95)
    resolution = (row.resolution_p50, row.resolution_p90, row.resolution_p95)
    levels = (
        row.sla_first_response_compliance,
        row.sla_next_response_compliance,
        row.sla_resolution_compliance,
    )
    return [
        row.label,
        str(row.conversations),
        str(row.answered),
        "/".join(duration(s) for s in first),
        str(row.resolved),
        "/".join(duration(s) for s in resolution),
        str(row.inbound_messages),
        percent(row.reply_rate),
        percent(row.escalation_rate),
        percent(row.skip_rate),
        "/".join(percent(share) for share in levels),
    ]


def as_table(summary: Summary) -> str:
    scope = "whole tenant" if summary.whole_tenant else "the caller's teams"
    lines = [
        f"{summary.from_} to {summary.to} (not included), {summary.timezone}: "
        f"{summary.start_at:%Y-%m-%d %H:%M} to {summary.end_at:%Y-%m-%d %H:%M} UTC, {scope}",
        "  ".join(name.ljust(width) for name, width in TABLE_COLUMNS).rstrip(),
    ]
    for row in [*summary.groups, summary.total]:
        cells = _cells(row)
        lines.append(
            "  ".join(
                cell.ljust(width) for cell, (_, width) in zip(cells, TABLE_COLUMNS, strict=True)
            ).rstrip()
        )
    return "\n".join(lines)


def as_csv(summary: Summary) -> str:
    rows = [row.model_dump() for row in [*summary.groups, summary.total]]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    return out.getvalue().rstrip("\n")


def render(summary: Summary, fmt: str) -> str:
    if fmt == "json":
        return summary.model_dump_json(by_alias=True, indent=2)
    if fmt == "csv":
        return as_csv(summary)
    return as_table(summary)


def report(
    tenant: Annotated[UUID, typer.Option(help="The tenant id.")],
    first: Annotated[
        datetime,
        typer.Option("--from", formats=["%Y-%m-%d"], help="First local day (YYYY-MM-DD)."),
    ],
    to: Annotated[
        datetime,
        typer.Option(formats=["%Y-%m-%d"], help="The local day after the last one reported."),
    ],
    group_by: Annotated[
        Grouping, typer.Option(help="Figures per group, and the total.")
    ] = Grouping.none,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    timezone: Annotated[
        str | None, typer.Option(help="IANA time zone of the days (the tenant's if omitted).")
    ] = None,
) -> None:
    """Response and resolution times (p50/p90/p95), service-level compliance and the
    assistant's reply / escalation / skip rates over whole local days, for the whole tenant."""
    from domain.inbox import Scope
    from domain.reports import PeriodRefused, period
    from persistence.uow import UnitOfWorkFactory
    from workers.admin_cli import _fail, _settings
    from workers.api.reports import build_summary
    from workers.logging import quiet_connection_errors
    from workers.reachability import reaching

    try:  # the days alone, before any connection: the tenant's time zone comes later
        period(first.date(), to.date(), timezone or "UTC")
    except PeriodRefused as exc:
        raise _fail(f"--{exc.field.replace('_', '-')}: {exc}") from None
    settings = _settings()
    quiet_connection_errors()

    async def run() -> Summary:
        factory = UnitOfWorkFactory.from_settings(settings)
        try:
            async with factory(tenant) as uow:
                if await uow.tenants.get() is None:
                    raise _fail(f"no tenant {tenant}")
                return await build_summary(
                    uow,
                    first=first.date(),
                    end=to.date(),
                    group_by=group_by.value,
                    scope=Scope(everything=True),
                    timezone=timezone,
                )
        finally:
            await factory.dispose()

    try:
        with reaching("PostgreSQL", settings.database_url):
            summary = asyncio.run(run())
    except PeriodRefused as exc:
        raise _fail(f"--{exc.field.replace('_', '-')}: {exc}") from None
    typer.echo(render(summary, fmt.value))
