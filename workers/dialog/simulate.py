"""``frontdesk flow simulate FILE [--transcript FILE]``: run a flow in the terminal.

Each turn prints the steps it ran, what the bot says (options numbered, as on SMS) and what it
records or hands to staff. Without a transcript the guest's lines are read from the terminal;
with one, each non-empty line not starting with ``#`` is a guest message. Nothing is stored or
sent: the simulation is the step engine alone, with no knowledge base (lookups find nothing).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Annotated, NoReturn
from zoneinfo import ZoneInfo

import typer

from domain.flows import Book, Flow, HandOff, Turn, answer, begin, problems
from domain.flows.render import numbered
from persistence.flows import FlowRejected, parse_flow

flow_app = typer.Typer(help="Bot scenario flows.", no_args_is_help=True)


def nothing_known(query: str) -> str | None:
    return None


def show(turn: Turn) -> None:
    typer.echo(f"  [{' -> '.join(turn.steps)}] {turn.detail}".rstrip())
    for say in turn.replies:
        for line in numbered(say).splitlines():
            typer.echo(f"bot: {line}" if line else "bot:")
    for effect in turn.effects:
        if isinstance(effect, Book):
            typer.echo(f"  record {effect.record}: {json.dumps(effect.fields, sort_keys=True)}")
        elif isinstance(effect, HandOff):
            collected = json.dumps(effect.variables, sort_keys=True)
            typer.echo(f"  handoff to staff ({effect.reason}): {collected}")
    if turn.session is None:
        typer.echo(f"  dialogue {turn.outcome}")


def _guest_lines(transcript: Path | None) -> Iterator[str]:
    if transcript is not None:
        for line in transcript.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                yield line.strip()
        return
    while True:
        try:
            yield input("guest: ")
        except EOFError:
            return


def run(flow: Flow, lines: Iterator[str], *, now: datetime, echo_guest: bool) -> Turn:
    """Run ``flow`` against the guest's ``lines``; the last turn."""
    turn = begin(flow, variables={"guest_name": "", "channel": "sms"}, knowledge=nothing_known)
    show(turn)
    for text in lines:
        if turn.session is None:
            break
        if echo_guest:
            typer.echo(f"guest: {text}")
        turn = answer(flow, turn.session, text, now=now, knowledge=nothing_known)
        show(turn)
    return turn


@flow_app.command("simulate")
def simulate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The flow (JSON).")],
    transcript: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="Guest messages, one per line."),
    ] = None,
    timezone: Annotated[str, typer.Option(help="The property's IANA time zone.")] = "UTC",
    now: Annotated[
        str | None, typer.Option(help="The simulated time, ISO 8601 (default: now).")
    ] = None,
) -> None:
    """Run a flow in the terminal, showing each step; refuses a flow that cannot publish."""
    try:
        flow = parse_flow(json.loads(file.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        typer.echo(f"{file}: not JSON ({exc})", err=True)
        raise typer.Exit(1) from None
    except FlowRejected as exc:
        _refuse(exc)
    found = problems(flow)
    if found:
        _refuse(FlowRejected(found))
    zone = ZoneInfo(timezone)
    moment = datetime.fromisoformat(now).astimezone(zone) if now else datetime.now(zone)
    last = run(flow, _guest_lines(transcript), now=moment, echo_guest=transcript is not None)
    if last.session is not None:
        typer.echo(f"  dialogue waiting at {last.session.step}")


def _refuse(exc: FlowRejected) -> NoReturn:
    for problem in exc.problems:
        typer.echo(f"{problem.path}: {problem.message}", err=True)
    sys.stderr.flush()
    raise typer.Exit(1)
