"""Logging for every frontdesk process: structlog, JSON in production, console for people.

Context (tenant_id, consumer, event_id, attempt) is bound with contextvars by the runner, so
every line a handler logs while working on a delivery carries it. Libraries that log through
the standard library (aio-pika, SQLAlchemy, uvicorn) go through the same renderer.

No secret reaches a line: tracebacks carry no frame locals, the HTTP client libraries (which
print whole request URLs, and Green API and Telegram carry their tokens in the path) speak only
from WARNING up, fields named like secrets are masked, and every rendered line, exception text
included, is scrubbed of known secret shapes (``redact``).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from workers.settings import Settings

MASK = "***"
_configured: list[tuple[bool, str]] = []

# Loggers that narrate at INFO what frontdesk logs better itself, or that print request URLs.
_QUIET_LOGGERS = ("aio_pika", "aiormq", "httpx", "httpcore", "hpack")
# Loggers whose connection errors the operator commands report as one line of their own.
_CONNECTION_LOGGERS = ("aio_pika", "aiormq", "asyncpg")

_SECRET_NAME = r"[\w-]*(?:password|passwd|secret|token|api[_-]?key)[\w-]*"  # noqa: S105
_SECRET_FIELD = re.compile(
    rf"^(?:{_SECRET_NAME}|credentials|authorization|dsn|webhook_url)$", re.IGNORECASE
)
_QUOTE = r"\\?[\"']"
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://[^\s:/@\"'\\]*:)[^\s@/\"'\\]+@", re.IGNORECASE), r"\1***@"),
    # Telegram bot tokens (<bot id>:<secret>), alone or in /bot<token>/ URL paths
    (re.compile(r"(?<![\d])(\d{3,}):[A-Za-z0-9_-]{30,}"), r"\1:***"),
    # Green API: /waInstance<id>/<method>/<apiTokenInstance>
    (re.compile(r"(waInstance\d+/\w+/)[^/\s\"'\\?#]+", re.IGNORECASE), r"\1***"),
    # Slack-compatible incoming webhooks: the path is the credential
    (re.compile(r"(hooks\.slack\.com/(?:services|workflows|triggers)/)[^\s\"'\\]+"), r"\1***"),
    # frontdesk API keys keep their visible prefix; set-password tokens their tenant
    (re.compile(r"\b(fdk_[A-Za-z0-9_-]{8})[A-Za-z0-9_-]+"), r"\1***"),
    (re.compile(r"\b([0-9a-f]{32}\.)[A-Za-z0-9_-]{40,}"), r"\1***"),
    # signed tokens: JWTs, staff acknowledgement links, stored password hashes
    (re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+"), MASK),
    (re.compile(r"(/ack/)[A-Za-z0-9_.~-]+"), r"\1***"),
    (re.compile(r"\bscrypt\$[^\s\"'\\]+"), "scrypt$***"),
    # Authorization header values
    (re.compile(r"\b(Bearer|Basic)(\s+)[^\s\"'\\,;]+", re.IGNORECASE), r"\1\2***"),
    # Fernet keys: 32 bytes, URL-safe base64
    (re.compile(r"(?<![A-Za-z0-9_=-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])"), MASK),
    # password=..., api_token=..., secret=...: query strings, DSNs, keyword reprs
    (
        re.compile(rf"\b({_SECRET_NAME}=)({_QUOTE})?[^&\s\"'\\,;)}}]+", re.IGNORECASE),
        r"\1\2***",
    ),
    # 'password': '...' and "token": "..." in dict reprs and JSON
    (
        re.compile(
            rf"({_QUOTE}{_SECRET_NAME}{_QUOTE}\s*:\s*)({_QUOTE})(?:[^\"'\\]|\\[^\"'])+", re.I
        ),
        r"\1\2***",
    ),
)


def redact(text: str) -> str:
    """``text`` with every known secret shape masked."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def mask_secret_fields(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Fields named like secrets (``password``, ``webhook_secret``, ``api_token``) are masked."""
    for key in event_dict:
        if _SECRET_FIELD.match(key) and event_dict[key] is not None:
            event_dict[key] = MASK
    return event_dict


def redact_rendered(_logger: Any, _method: str, rendered: Any) -> Any:
    """The last step of every line, after rendering: the line with secret shapes masked."""
    return redact(rendered) if isinstance(rendered, str) else rendered


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
        # Frame locals would put decrypted credentials and guest payloads into the line.
        exception_processors: list[Any] = [
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            )
        ]
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
            mask_secret_fields,
            *exception_processors,
            renderer,
            redact_rendered,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in _QUIET_LOGGERS:
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def quiet_connection_errors() -> None:
    """For one-shot operator commands, which report an unreachable service in one line of
    their own: the drivers' connection errors stay out of the output."""
    for name in _CONNECTION_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)
