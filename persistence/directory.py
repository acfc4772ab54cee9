"""The ingress's lookups: public id in the webhook URL -> channel, tenant and secrets; and an
integration's id in a PMS webhook URL -> its tenant and secrets.

The ingress knows no tenant yet, so it asks the ``channel_route`` and
``integration_for_webhook`` SECURITY DEFINER functions, which return exactly one row and
nothing else of any tenant. The ingress and the dispatcher look a channel up for each webhook
and each send their caches miss: the statements are compiled once (``persistence.statements``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import Boolean, Text, column, func, select
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.db import create_engine, create_sessionmaker
from persistence.statements import Compiled, Row, Sql, param
from persistence.uow import FactorySettings

# Webhook traffic needs few connections: a lookup is one indexed read, and the ingress caches.
DIRECTORY_POOL_SIZE = 5

_UUID = PG_UUID(as_uuid=True)

_LOOKUP = Compiled.of(
    select(
        func.channel_route(param("public_id", _UUID)).table_valued(
            column("tenant_id", _UUID),
            column("id", _UUID),
            column("public_id", _UUID),
            column("property_id", _UUID),
            column("provider", Text),
            column("enabled", Boolean),
            column("address", Text),
            column("credentials_encrypted", Text),
            column("webhook_secret_encrypted", Text),
        )
    )
)

_INTEGRATION = Compiled.of(
    select(
        func.integration_for_webhook(param("integration_id", _UUID)).table_valued(
            column("tenant_id", _UUID),
            column("id", _UUID),
            column("integration_type", Text),
            column("credentials_encrypted", Text),
        )
    )
)


@dataclass(frozen=True, slots=True)
class IntegrationRoute:
    """What a PMS webhook needs of its integration; the credentials stay out of ``repr``."""

    tenant_id: UUID
    integration_id: UUID
    integration_type: str
    credentials: dict[str, str] = field(repr=False)


class ChannelDirectory:
    def __init__(self, engine: AsyncEngine, cipher: SecretCipher) -> None:
        self._engine = engine
        self._sessions: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
        self._cipher = cipher

    @classmethod
    def from_settings(cls, settings: FactorySettings) -> ChannelDirectory:
        engine = create_engine(
            settings.database_url,
            schema=settings.db_schema,
            pool_size=DIRECTORY_POOL_SIZE,
            max_overflow=0,  # a burst waits for a connection rather than opening and closing one
            pre_ping=settings.db_pool_pre_ping,
        )
        return cls(engine, SecretCipher.from_settings(settings))

    async def lookup(self, public_id: UUID) -> ChannelRoute | None:
        """The channel whose webhook URL carries ``public_id``; None if there is none."""
        row = await self._row(_LOOKUP, public_id=public_id)
        if row is None:
            return None
        (
            tenant_id,
            channel_id,
            public_id,
            property_id,
            provider,
            enabled,
            address,
            credentials,
            secret,
        ) = row
        return ChannelRoute(
            channel_id=channel_id,
            public_id=public_id,
            tenant_id=tenant_id,
            property_id=property_id,
            provider=Provider(provider),
            enabled=enabled,
            address=address,
            credentials=self._cipher.decrypt_json(credentials),
            webhook_secret=self._cipher.decrypt(secret) if secret is not None else None,
        )

    async def integration(self, integration_id: UUID) -> IntegrationRoute | None:
        """The enabled integration a PMS webhook URL names; None if there is none."""
        row = await self._row(_INTEGRATION, integration_id=integration_id)
        if row is None:
            return None
        tenant_id, integration_id, integration_type, credentials = row
        decrypted = self._cipher.decrypt_json(credentials)
        return IntegrationRoute(
            tenant_id=tenant_id,
            integration_id=integration_id,
            integration_type=integration_type,
            credentials={str(key): str(value) for key, value in decrypted.items()},
        )

    async def close(self) -> None:
        await self._engine.dispose()

    async def _row(self, statement: Compiled, /, **params: object) -> Row | None:
        """One read, on its own: no transaction is begun around it (one round trip)."""
        async with self._sessions() as session:
            try:
                return await Sql(session).row(statement, **params)
            except BaseException:
                # The driver's error bypassed SQLAlchemy, which would have dropped a broken (or
                # interrupted) connection from the pool: a connection that failed is not reused.
                await session.invalidate()
                raise
