"""Logging for every frontdesk process: structlog, JSON in production, console for people.

Context (tenant_id, consumer, event_id, attempt) is bound with contextvars by the runner, so
every line a handler logs while working on a delivery carries it. Libraries that log through
the standard library (aio-pika, SQLAlchemy, uvicorn) go through the same renderer.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

from workers.settings import Settings

_configured: list[tuple[bool, str]] = []


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def configure_logging(settings: Settings) -> None:
    """Configure structlog and the standard library once per process (repeat calls with the
    same settings do nothing)."""
    key = (settings.log_json, settings.log_level.upper())
    if key in _configured:
        return
    _configured.clear()
    _configured.append(key)
    level = logging.getLevelNamesMapping().get(key[1], logging.INFO)
    renderer: Any
    if settings.log_json:
        renderer = structlog.processors.JSONRenderer()
        exception_processors: list[Any] = [structlog.processors.dict_tracebacks]
    else:
        renderer = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)
        exception_processors = []

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *exception_processors,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aio-pika narrates every reconnect attempt at INFO; the runner logs what matters.
    for noisy in ("aio_pika", "aiormq"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
