"""What the operator commands share: settings, the consumers' queue names, time filters."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import typer
from rich.console import Console

from workers.runtime.topology import ConsumerQueues
from workers.settings import Settings

console = Console()
_RELATIVE = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def cli_settings() -> Settings:
    """The settings, logging configured; a broker that cannot be reached is reported by the
    command in one line, so the driver's own connection errors stay out of the output."""
    from workers.logging import configure_logging, quiet_connection_errors

    settings = Settings()
    configure_logging(settings)
    quiet_connection_errors()
    return settings


def parse_when(value: str | None, *, now: datetime | None = None) -> datetime | None:
    """``2h``, ``30m``, ``1d`` ago, or an ISO-8601 time (UTC when it names no zone)."""
    if value is None:
        return None
    if match := _RELATIVE.match(value.strip()):
        delta = timedelta(**{_UNITS[match[2]]: int(match[1])})
        return (now or datetime.now(UTC)) - delta
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is neither 30m/2h/1d nor an ISO-8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def consumer_queues(settings: Settings, names: Sequence[str] | None) -> list[ConsumerQueues]:
    """The queues of the named registered consumers (all of them when none is named)."""
    from workers.runtime.registry import CONSUMERS, UnknownConsumerError, build_consumers

    try:
        consumers = build_consumers(list(names or CONSUMERS), settings)
    except UnknownConsumerError as exc:
        raise typer.BadParameter(str(exc)) from None
    return [consumer.queues(settings.exchange) for consumer in consumers]
