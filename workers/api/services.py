"""What the API's routes share, built once per process and kept on ``app.state``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import Request

from persistence.sign_in import SignInDirectory
from persistence.uow import UnitOfWorkFactory
from workers.api.tokens import TokenIssuer
from workers.runtime.publisher import Publisher
from workers.settings import Settings


@dataclass(frozen=True, slots=True)
class SignInPolicy:
    """Failed sign-ins tolerated before backing off, per account and per client address.

    Past the allowance, the next attempt waits ``2 ** (failures - allowance)`` seconds after the
    last failure, at most ``max_backoff``; failures older than ``window`` are forgotten, and an
    account's count restarts at its last successful sign-in.
    """

    account_allowance: int = 5
    address_allowance: int = 20
    window: timedelta = timedelta(minutes=15)
    max_backoff: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    uow_factory: UnitOfWorkFactory
    directory: SignInDirectory
    tokens: TokenIssuer
    sign_in_policy: SignInPolicy = field(default_factory=SignInPolicy)
    # Publishes a committed action's events at once (None: the outbox relay publishes them).
    publisher: Publisher | None = None


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
