"""``frontdesk dlq list|show|replay|purge``: the operator's hands on dead letters.

Every dlq command takes the same filters (consumer, tenant, reason, time, limit); replay and
purge also take ``--dry-run``, and purge asks before it deletes anything unless ``--yes``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Annotated

import aio_pika
import typer
from aio_pika.abc import AbstractConnection
from aiormq.exceptions import ChannelNotFoundEntity
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table

from workers.ops.dead_letters import Action, DeadLetter, Selection, SweepResult, sweep
from workers.ops.support import cli_settings, console, consumer_queues, parse_when
from workers.reachability import reaching
from workers.runtime.topology import ConsumerQueues

dlq_app = typer.Typer(no_args_is_help=True, help="Inspect, replay and purge dead letters.")

ConsumerOption = Annotated[
    list[str] | None, typer.Option("--consumer", "-c", help="Only these consumers (repeatable).")
]
TenantOption = Annotated[str | None, typer.Option("--tenant", help="Only this tenant id.")]
ReasonOption = Annotated[
    str | None,
    typer.Option(help="Only this reason: permanent, retries_exhausted, schema, undecodable, ..."),
]
SinceOption = Annotated[
    str | None, typer.Option(help="Dead-lettered at or after: 30m, 2h, 1d or ISO-8601.")
]
UntilOption = Annotated[str | None, typer.Option(help="Dead-lettered before: 30m, 2h, 1d or ISO.")]
DryRunOption = Annotated[bool, typer.Option("--dry-run", help="Show what would be done.")]


async def queue_exists(connection: AbstractConnection, name: str) -> bool:
    """Whether a queue exists (a passive declare of a missing one closes its channel, so it
    gets a channel of its own)."""
    channel = await connection.channel()
    try:
        await channel.declare_queue(name, passive=True)
    except ChannelNotFoundEntity:
        return False
    finally:
        if not channel.is_closed:
            await channel.close()
    return True


async def run_sweeps(
    amqp_url: str,
    queues_list: Sequence[ConsumerQueues],
    selection: Selection,
    action: Action,
    *,
    dry_run: bool = False,
    show_progress: bool = False,
) -> list[SweepResult]:
    """One sweep per consumer; ``selection.limit`` applies across all of them."""
    connection = await aio_pika.connect(amqp_url)
    results: list[SweepResult] = []
    remaining = selection.limit
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        with Progress(console=console, transient=True, disable=not show_progress) as progress:
            task = progress.add_task(action.value, total=None)
            for queues in queues_list:
                if remaining is not None and remaining <= 0:
                    break
                if not await queue_exists(connection, queues.dead):
                    console.print(f"{queues.consumer}: no dead-letter queue (never started)")
                    continue
                result = await sweep(
                    channel,
                    queues,
                    replace(selection, limit=remaining),
                    action,
                    dry_run=dry_run,
                    on_match=lambda _letter: progress.advance(task),
                )
                results.append(result)
                if remaining is not None:
                    remaining -= len(result.matched)
    finally:
        await connection.close()
    return results


def _selection(
    tenant: str | None, reason: str | None, since: str | None, until: str | None, limit: int | None
) -> Selection:
    return Selection(
        tenant_id=tenant,
        reason=reason,
        since=parse_when(since),
        until=parse_when(until),
        limit=limit,
    )


def _run(
    consumer: list[str] | None, selection: Selection, action: Action, *, dry_run: bool
) -> list[DeadLetter]:
    settings = cli_settings()
    queues_list = consumer_queues(settings, consumer)
    with reaching("RabbitMQ", settings.amqp_url):
        results = asyncio.run(
            run_sweeps(
                settings.amqp_url,
                queues_list,
                selection,
                action,
                dry_run=dry_run,
                show_progress=action is Action.REPLAY,
            )
        )
    return [letter for result in results for letter in result.matched]


def _table(letters: Sequence[DeadLetter], title: str) -> Table:
    table = Table(title=title)
    for column in ("consumer", "event id", "type", "tenant", "reason", "attempt", "dead at"):
        table.add_column(column)
    for letter in letters:
        table.add_row(
            letter.consumer,
            letter.message_id or "-",
            letter.event_type or "-",
            letter.tenant_id or "-",
            letter.reason or "-",
            str(letter.attempt),
            letter.dead_at.isoformat(timespec="seconds") if letter.dead_at else "-",
        )
    return table


@dlq_app.command(name="list")
def list_letters(
    consumer: ConsumerOption = None,
    tenant: TenantOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 50,
) -> None:
    """List dead letters (the queue is left as it was)."""
    letters = _run(
        consumer, _selection(tenant, reason, since, until, limit), Action.LIST, dry_run=True
    )
    console.print(_table(letters, f"{len(letters)} dead letter(s)"))


@dlq_app.command()
def show(
    event_id: Annotated[str, typer.Argument(help="The dead letter's event (message) id.")],
    consumer: ConsumerOption = None,
) -> None:
    """Show one dead letter: headers, error and body."""
    selection = Selection(message_id=event_id, limit=1)
    letters = _run(consumer, selection, Action.LIST, dry_run=True)
    if not letters:
        console.print(f"[red]no dead letter with event id {event_id}[/]")
        raise typer.Exit(1)
    letter = letters[0]
    headers = {k: str(v) for k, v in letter.headers.items() if k != "x-frontdesk-error"}
    console.print(_table([letter], f"dead letter {event_id}"))
    console.print(Panel(json.dumps(headers, indent=2), title="headers"))
    console.print(Panel(letter.error or "-", title="error"))
    try:
        body = json.dumps(json.loads(letter.body), indent=2)
    except ValueError:
        body = repr(letter.body)
    console.print(Panel(body, title="body"))


@dlq_app.command()
def replay(
    consumer: ConsumerOption = None,
    tenant: TenantOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    dry_run: DryRunOption = False,
) -> None:
    """Send matching dead letters back to their consumer (safe to repeat: the inbox dedups)."""
    selection = _selection(tenant, reason, since, until, limit)
    letters = _run(consumer, selection, Action.REPLAY, dry_run=dry_run)
    verb = "would replay" if dry_run else "replayed"
    console.print(_table(letters, f"{verb} {len(letters)} dead letter(s)"))


@dlq_app.command()
def purge(
    consumer: ConsumerOption = None,
    tenant: TenantOption = None,
    reason: ReasonOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    limit: Annotated[int | None, typer.Option(help="At most this many.")] = None,
    dry_run: DryRunOption = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete matching dead letters for good."""
    selection = _selection(tenant, reason, since, until, limit)
    if not dry_run and not yes:
        preview = _run(consumer, selection, Action.LIST, dry_run=True)
        if not preview:
            console.print("no dead letter matches")
            return
        typer.confirm(f"Delete {len(preview)} dead letter(s) for good?", abort=True)
    letters = _run(consumer, selection, Action.PURGE, dry_run=dry_run)
    verb = "would purge" if dry_run else "purged"
    console.print(_table(letters, f"{verb} {len(letters)} dead letter(s)"))
