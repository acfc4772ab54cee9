"""What an operator command needs from the machine, and one line when it is missing.

``with reaching("PostgreSQL", url): ...`` turns a connection failure raised inside into
``ServiceUnreachable``, which names the service and its host:port (never the credentials in
the URL); ``ensure_ports_free`` raises ``PortInUse`` naming a port something else holds. The
``frontdesk`` command prints any ``OperatorError`` as one line and exits with its code.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

# sysexits.h EX_UNAVAILABLE: a service the command needs is not available.
EXIT_UNAVAILABLE = 69
DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "amqp": 5672, "amqps": 5671}
_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (socket.gaierror, "host not found"),
    (ConnectionRefusedError, "connection refused"),
    (TimeoutError, "timed out"),
)
# Errors about files, not peers, are never an unreachable service.
_LOCAL_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
    PermissionError,
)
# Drivers' errors that mean "reached, but the credentials were refused".
_CREDENTIALS_REFUSED = {
    "InvalidPasswordError",
    "InvalidAuthorizationSpecificationError",
    "ProbableAuthenticationError",
}


class OperatorError(Exception):
    """A condition the operator fixes, reported as one line and an exit code."""

    exit_code = 1


class ServiceUnreachable(OperatorError):
    """A service a command needs could not be reached."""

    exit_code = EXIT_UNAVAILABLE

    def __init__(self, service: str, address: str, reason: str) -> None:
        super().__init__(f"cannot connect to {service} at {address}: {reason}")
        self.service = service
        self.address = address
        self.reason = reason


def address_of(url: str) -> str:
    """``host:port`` of a service URL, without user or password."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0].lower()
    host = parts.hostname or "localhost"
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port or DEFAULT_PORTS.get(scheme, '?')}"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (current.__cause__, current.__context__, getattr(current, "orig", None)):
            if isinstance(linked, BaseException):
                pending.append(linked)


def connection_failure(exc: BaseException) -> str | None:
    """Why a connection failed, if ``exc`` (or what caused it) is a connection failure."""
    errors = list(_chain(exc))
    # The most telling error wins: a driver wraps "refused" in its own generic error.
    for kind, reason in _REASONS:
        if any(isinstance(error, kind) for error in errors):
            return reason
    for error in errors:
        if type(error).__name__ in _CREDENTIALS_REFUSED:
            return "the credentials were refused"
        if isinstance(error, OSError) and not isinstance(error, _LOCAL_ERRORS):
            if "Connect call failed" in str(error):  # several addresses, all refused
                return "connection refused"
            if error.strerror:
                return error.strerror.lower()
    if any(isinstance(error, ConnectionError) for error in errors):
        return "connection lost"
    return None


@contextmanager
def reaching(service: str, url: str) -> Iterator[None]:
    """Connection failures inside become ``ServiceUnreachable(service, host:port)``."""
    try:
        yield
    except ServiceUnreachable:
        raise
    except Exception as exc:
        reason = connection_failure(exc)
        if reason is None:
            raise
        raise ServiceUnreachable(service, address_of(url), reason) from exc


class PortInUse(OperatorError):
    """A port a process is to listen on is held by another process."""

    def __init__(self, name: str, host: str, port: int) -> None:
        super().__init__(
            f"port {port} on {host}, for the {name}, is already in use "
            "(is another frontdesk running?)"
        )
        self.name = name
        self.host = host
        self.port = port


def ensure_ports_free(ports: Iterable[tuple[str, str, int]]) -> None:
    """Raise ``PortInUse`` for the first ``(name, host, port)`` that cannot be listened on."""
    for name, host, port in ports:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            # As the servers bind: a port left in TIME_WAIT by a stopped run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise PortInUse(name, host, port) from None
                raise
