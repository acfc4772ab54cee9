"""The `frontdesk` command: run the service, operate it, inspect it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from workers.admin_cli import register as register_admin_commands
from workers.dialog.simulate import flow_app
from workers.limits_cli import limits_app
from workers.reachability import EXIT_UNAVAILABLE, OperatorError, connection_failure, reaching
from workers.reports_cli import report
from workers.routing_cli import routing_app
from workers.scheduler.commands import reservations_app, schedule_app
from workers.settings import Settings
from workers.sla_cli import sla_app
from workers.triggers.commands import triggers_app


class Commands(TyperGroup):
    """Every command: what the operator must fix (a database or broker that cannot be reached,
    a port already taken) is one line, not a traceback."""

    # The context is typer's click (vendored in newer typer, the click package in older ones).
    def invoke(self, ctx: Any) -> object:
        try:
            return super().invoke(ctx)
        except OperatorError as exc:
            typer.echo(f"frontdesk: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        except Exception as exc:
            reason = connection_failure(exc)
            if reason is None:
                raise
            typer.echo(f"frontdesk: a service could not be reached: {reason}", err=True)
            raise typer.Exit(EXIT_UNAVAILABLE) from None


app = typer.Typer(
    name="frontdesk",
    help="Guest-messaging backbone for hotels, vacation rentals and restaurants.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    cls=Commands,
)


def _settings(*, one_shot: bool = False) -> Settings:
    """The settings, logging configured; ``one_shot`` commands report connection failures
    themselves, so the drivers' own connection errors stay out of their output."""
    from workers.logging import configure_logging, quiet_connection_errors

    settings = Settings()
    configure_logging(settings)
    if one_shot:
        quiet_connection_errors()
    return settings


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Apply the database migrations (as the owner role)."""
    from persistence.migrate import create_database_if_missing, upgrade

    settings = _settings(one_shot=True)
    with reaching("PostgreSQL", settings.migration_database_url):
        create_database_if_missing(settings.migration_database_url)
        upgrade(settings, revision)
    typer.echo(f"database at {revision}")


@app.command()
def seed(
    demo: Annotated[bool, typer.Option("--demo", help="Create the three demo tenants.")] = False,
) -> None:
    """Seed the database; `--demo` creates the demo tenants (idempotent)."""
    if not demo:
        raise typer.BadParameter("nothing to seed: pass --demo")
    from workers.bootstrap import seed_demo

    settings = _settings(one_shot=True)
    with reaching("PostgreSQL", settings.database_url):
        report = asyncio.run(seed_demo(settings))
    typer.echo(str(report))


@app.command()
def ingress(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
) -> None:
    """Run the HTTP ingress that turns provider webhooks into events."""
    from workers.ingress.server import run

    settings = _settings()
    overrides = {k: v for k, v in {"ingress_host": host, "ingress_port": port}.items() if v}
    run(settings.model_copy(update=overrides))


@app.command()
def worker(
    names: Annotated[list[str], typer.Argument(help="Consumers to run in this process.")],
    concurrency: Annotated[int, typer.Option(help="Deliveries in flight per consumer.")] = 16,
    metrics_port: Annotated[int, typer.Option(help="Health and metrics port, 0 = off.")] = 0,
) -> None:
    """Run one or more consumers (intake, sentiment, autoreply, escalation)."""
    from workers.runtime.registry import worker_main

    worker_main(names, concurrency, _settings(), metrics_port=metrics_port)


@app.command()
def relay() -> None:
    """Publish outbox rows a crash left unpublished."""
    from workers.runtime.relay import relay_main

    relay_main(_settings())


@app.command()
def dispatcher() -> None:
    """Send due outbound messages and re-alert staff until acknowledged."""
    from workers.dispatch.main import dispatcher_main

    dispatcher_main(_settings())


@app.command()
def scheduler() -> None:
    """Hand due scheduled messages (pre-arrival T-3 / T-1 / day-of) to the dispatcher."""
    from workers.scheduler.main import scheduler_main

    scheduler_main(_settings())


@app.command()
def up(
    with_stand_in: Annotated[
        bool, typer.Option(help="Run the local provider stand-in for demo channels.")
    ] = True,
) -> None:
    """Migrate, seed the demo tenants on an empty database, and run everything."""
    from workers.supervisor import up as run_up

    run_up(_settings(one_shot=True), with_stand_in=with_stand_in)


@app.command()
def demo(
    base_url: Annotated[str, typer.Option(help="Where the ingress listens.")] = (
        "http://127.0.0.1:8000"
    ),
) -> None:
    """Post signed sample webhooks to a running frontdesk and show what became of each."""
    from workers.demo import run_demo

    raise typer.Exit(asyncio.run(run_demo(_settings(), base_url=base_url)))


@app.command(name="eval")
def evaluate(
    messages: Annotated[Path | None, typer.Option(help="Labelled messages (JSONL).")] = None,
    kb: Annotated[
        Path | None, typer.Option("--kb", "--knowledge", help="Knowledge base (JSON).")
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Confidence threshold (default 0.7).")
    ] = None,
    language: Annotated[str | None, typer.Option(help="Only messages in this language.")] = None,
    split: Annotated[
        str | None, typer.Option(help="Only this split of the labelled set (train, heldout).")
    ] = None,
    sentiment: Annotated[
        Path | None, typer.Option(help="Score sentiment on these labelled messages instead.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write one JSON line per message.")] = None,
    misses: Annotated[bool, typer.Option(help="List the messages decided wrongly.")] = True,
) -> None:
    """Report auto-reply decision quality (or sentiment quality) on labelled messages."""
    if sentiment is not None:
        from workers.evaluate_sentiment import main as sentiment_main

        raise typer.Exit(sentiment_main(sentiment, split=split, out=out, show_misses=misses))
    from workers.evaluate import main as evaluate_main

    raise typer.Exit(
        evaluate_main(
            messages,
            kb,
            threshold=threshold,
            language=language,
            split=split,
            out=out,
            show_misses=misses,
        )
    )


def _mount_ops() -> None:
    try:
        from workers.ops.dlq import dlq_app
        from workers.ops.status import status
    except ImportError:  # pragma: no cover - only while the runtime is absent
        return
    app.command(name="status")(status)
    app.add_typer(dlq_app, name="dlq", help="Inspect, replay and purge dead letters.")


_mount_ops()
register_admin_commands(app)
app.add_typer(reservations_app, name="reservations")
app.add_typer(schedule_app, name="schedule")
app.add_typer(triggers_app, name="triggers")
app.add_typer(flow_app, name="flow")
app.add_typer(routing_app, name="routing")
app.add_typer(sla_app, name="sla")
app.add_typer(limits_app, name="limits")
app.command(name="report")(report)


def main() -> None:
    app()
