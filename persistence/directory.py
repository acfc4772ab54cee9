"""The ingress's lookups: public id in the webhook URL -> channel, tenant and secrets; and an
integration's id in a PMS webhook URL -> its tenant and secrets.

The ingress knows no tenant yet, so it asks the ``channel_route`` and
``integration_for_webhook`` SECURITY DEFINER functions, which return exactly one row and
nothing else of any tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.db import create_engine
from persistence.uow import FactorySettings

# Webhook traffic needs few connections: a lookup is one indexed read, and the ingress caches.
DIRECTORY_POOL_SIZE = 5

_LOOKUP = text(
    "SELECT tenant_id, id, public_id, property_id, provider, enabled, address,"
    " credentials_encrypted, webhook_secret_encrypted FROM channel_route(:public_id)"
)

_INTEGRATION = text(
    "SELECT tenant_id, id, integration_type, credentials_encrypted"
    " FROM integration_for_webhook(:integration_id)"
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
        async with self._engine.connect() as connection:
            row = (await connection.execute(_LOOKUP, {"public_id": public_id})).one_or_none()
        if row is None:
            return None
        secret = row.webhook_secret_encrypted
        return ChannelRoute(
            channel_id=row.id,
            public_id=row.public_id,
            tenant_id=row.tenant_id,
            property_id=row.property_id,
            provider=Provider(row.provider),
            enabled=row.enabled,
            address=row.address,
            credentials=self._cipher.decrypt_json(row.credentials_encrypted),
            webhook_secret=self._cipher.decrypt(secret) if secret is not None else None,
        )

    async def integration(self, integration_id: UUID) -> IntegrationRoute | None:
        """The enabled integration a PMS webhook URL names; None if there is none."""
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(_INTEGRATION, {"integration_id": integration_id})
            ).one_or_none()
        if row is None:
            return None
        credentials = self._cipher.decrypt_json(row.credentials_encrypted)
        return IntegrationRoute(
            tenant_id=row.tenant_id,
            integration_id=row.id,
            integration_type=row.integration_type,
            credentials={str(key): str(value) for key, value in credentials.items()},
        )

    async def close(self) -> None:
        await self._engine.dispose()
