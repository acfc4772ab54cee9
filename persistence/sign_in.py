"""What the management API must know before it knows a tenant: who is signing in, whose API
key this is, and how often an account or an address has failed lately.

The user and key lookups go through the narrow SECURITY DEFINER functions of migration 0008
(``sign_in_candidates``, ``use_api_key``); ``sign_in_attempts`` belongs to no tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.models import SignInAttempt
from persistence.repositories.access import digest

_CANDIDATES = text(
    "SELECT user_id, tenant_id, password_hash, active FROM sign_in_candidates(:email, :tenant_slug)"
)
_USE_API_KEY = text("SELECT id, tenant_id, permissions FROM use_api_key(:key_hash)")
_NO_TENANT = text("SELECT set_config('app.tenant_id', '', true)")


@dataclass(frozen=True, slots=True)
class SignInCandidate:
    """A live user with the e-mail being signed in with; ``active`` also covers the tenant."""

    user_id: UUID
    tenant_id: UUID
    password_hash: str
    active: bool

    def __repr__(self) -> str:  # the hash stays out of logs and tracebacks
        return f"SignInCandidate(user_id={self.user_id}, tenant_id={self.tenant_id})"


@dataclass(frozen=True, slots=True)
class KeyHolder:
    api_key_id: UUID
    tenant_id: UUID
    permissions: frozenset[str]


@dataclass(frozen=True, slots=True)
class RecentFailures:
    """Failed sign-ins within the window: of the account since its last success, and of the
    client address; with the newest of each and the database's clock."""

    account: int
    account_last: datetime | None
    address: int
    address_last: datetime | None
    now: datetime


def account_hash(email: str) -> str:
    return digest(email.strip().lower())


class SignInDirectory:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def candidates(self, *, email: str, tenant_slug: str | None) -> list[SignInCandidate]:
        async with self._sessionmaker() as session:
            await session.execute(_NO_TENANT)
            rows = await session.execute(_CANDIDATES, {"email": email, "tenant_slug": tenant_slug})
            return [SignInCandidate(*row) for row in rows]

    async def use_api_key(self, *, key: str) -> KeyHolder | None:
        """The live key's tenant and permissions (its last use is recorded); None otherwise."""
        async with self._sessionmaker() as session, session.begin():
            await session.execute(_NO_TENANT)
            row = (await session.execute(_USE_API_KEY, {"key_hash": digest(key)})).one_or_none()
        if row is None:
            return None
        return KeyHolder(api_key_id=row.id, tenant_id=row.tenant_id, permissions=frozenset(row[2]))

    async def recent_failures(
        self, *, email: str, client_address: str, window: timedelta
    ) -> RecentFailures:
        account = account_hash(email)
        attempts = SignInAttempt.__table__
        since = func.now() - window
        last_success = (
            select(func.coalesce(func.max(attempts.c.created_at), since))
            .where(attempts.c.account_hash == account, attempts.c.outcome == "succeeded")
            .scalar_subquery()
        )
        by_account = select(func.count(), func.max(attempts.c.created_at)).where(
            attempts.c.account_hash == account,
            attempts.c.outcome == "failed",
            attempts.c.created_at > since,
            attempts.c.created_at > last_success,
        )
        by_address = select(func.count(), func.max(attempts.c.created_at)).where(
            attempts.c.client_address == client_address,
            attempts.c.outcome == "failed",
            attempts.c.created_at > since,
        )
        async with self._sessionmaker() as session:
            account_count, account_last = (await session.execute(by_account)).one()
            address_count, address_last = (await session.execute(by_address)).one()
            now = await session.scalar(select(func.now()))
        assert now is not None
        return RecentFailures(account_count, account_last, address_count, address_last, now)

    async def record(self, *, email: str, client_address: str, outcome: str) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                insert(SignInAttempt).values(
                    account_hash=account_hash(email),
                    client_address=client_address,
                    outcome=outcome,
                )
            )
