"""What the management API must know before it knows a tenant: who is signing in, whose API
key this is, and how often an account or an address has failed lately.

The user and key lookups go through the narrow SECURITY DEFINER functions of migration 0008
(``sign_in_candidates``, ``use_api_key``); ``sign_in_attempts`` belongs to no tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import Boolean, Text, column, func, insert, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from persistence.models import SignInAttempt
from persistence.models.access import SignInOutcome
from persistence.repositories.access import digest
from persistence.statements import param
from persistence.system import begin_without_tenant

_UUID = PG_UUID(as_uuid=True)

_CANDIDATES = select(
    func.sign_in_candidates(param("email", Text), param("tenant_slug", Text)).table_valued(
        column("user_id", _UUID),
        column("tenant_id", _UUID),
        column("password_hash", Text),
        column("active", Boolean),
    )
)
_USE_API_KEY = select(
    func.use_api_key(param("key_hash", Text)).table_valued(
        column("id", _UUID), column("tenant_id", _UUID), column("permissions", ARRAY(Text))
    )
)
attempts = SignInAttempt.__table__


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
            await begin_without_tenant(session)
            rows = await session.execute(_CANDIDATES, {"email": email, "tenant_slug": tenant_slug})
            return [SignInCandidate(*row) for row in rows]

    async def use_api_key(self, *, key: str) -> KeyHolder | None:
        """The live key's tenant and permissions (its last use is recorded); None otherwise."""
        async with self._sessionmaker() as session, session.begin():
            await begin_without_tenant(session)
            row = (await session.execute(_USE_API_KEY, {"key_hash": digest(key)})).one_or_none()
        if row is None:
            return None
        api_key_id, tenant_id, permissions = row
        return KeyHolder(
            api_key_id=api_key_id, tenant_id=tenant_id, permissions=frozenset(permissions)
        )

    async def recent_failures(
        self, *, email: str, client_address: str, window: timedelta
    ) -> RecentFailures:
        account = account_hash(email)
        since = func.now() - window
        last_success = (
            select(func.coalesce(func.max(attempts.c.created_at), since))
            .where(
                attempts.c.account_hash == account, attempts.c.outcome == SignInOutcome.SUCCEEDED
            )
            .scalar_subquery()
        )
        by_account = select(func.count(), func.max(attempts.c.created_at)).where(
            attempts.c.account_hash == account,
            attempts.c.outcome == SignInOutcome.FAILED,
            attempts.c.created_at > since,
            attempts.c.created_at > last_success,
        )
        by_address = select(func.count(), func.max(attempts.c.created_at)).where(
            attempts.c.client_address == client_address,
            attempts.c.outcome == SignInOutcome.FAILED,
            attempts.c.created_at > since,
        )
        async with self._sessionmaker() as session:
            account_count, account_last = (await session.execute(by_account)).one()
            address_count, address_last = (await session.execute(by_address)).one()
            now = await session.scalar(select(func.now()))
        assert now is not None
        return RecentFailures(account_count, account_last, address_count, address_last, now)

    async def record(self, *, email: str, client_address: str, outcome: SignInOutcome) -> None:
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                insert(SignInAttempt).values(
                    account_hash=account_hash(email),
                    client_address=client_address,
                    outcome=outcome,
                )
            )
