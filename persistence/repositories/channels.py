"""Channels and staff alert targets, with their secrets encrypted on the way in and out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.models import Channel, StaffAlertTarget
from persistence.repositories.base import Repository
from persistence.statements import Sql


class MissingKeysError(RuntimeError):
    """Secrets were read or written through a factory that has no encryption keys."""


def channel_route(channel: Channel, cipher: SecretCipher) -> ChannelRoute:
    """The channel as the ingress and the providers see it, secrets decrypted."""
    secret = channel.webhook_secret_encrypted
    return ChannelRoute(
        channel_id=channel.id,
        public_id=channel.public_id,
        tenant_id=channel.tenant_id,
        property_id=channel.property_id,
        provider=Provider(channel.provider),
        enabled=channel.enabled,
        address=channel.address,
        credentials=cipher.decrypt_json(channel.credentials_encrypted),
        webhook_secret=cipher.decrypt(secret) if secret is not None else None,
    )


class SecretRepository(Repository):
    """A repository that encrypts and decrypts secrets with the factory's keys."""

    def __init__(
        self,
        session: AsyncSession,
        tenant_id: UUID,
        cipher: SecretCipher | None,
        sql: Sql | None = None,
    ) -> None:
        super().__init__(session, tenant_id, sql)
        self._optional_cipher = cipher

    @property
    def _cipher(self) -> SecretCipher:
        if self._optional_cipher is None:
            raise MissingKeysError("this unit of work factory was built without encryption keys")
        return self._optional_cipher


class ChannelRepository(SecretRepository):
    async def get(self, *, channel_id: UUID) -> Channel | None:
        return await self._get(Channel, channel_id)

    async def route(self, *, channel_id: UUID) -> ChannelRoute | None:
        """The channel with its credentials decrypted (what a provider needs to send)."""
        channel = await self._get(Channel, channel_id)
        return channel_route(channel, self._cipher) if channel is not None else None

    async def list_all(self) -> list[Channel]:
        statement = (
            select(Channel).where(Channel.tenant_id == self.tenant_id).order_by(Channel.name)
        )
        return list((await self.session.execute(statement)).scalars())

    async def add(
        self,
        *,
        property_id: UUID,
        provider: Provider | str,
        name: str,
        address: str,
        credentials: Mapping[str, str],
        webhook_secret: str | None = None,
        public_id: UUID | None = None,
        enabled: bool = True,
        staff_alerts: bool = False,
    ) -> Channel:
        """Add a channel; ``credentials`` and ``webhook_secret`` are stored encrypted."""
        row = Channel(
            tenant_id=self.tenant_id,
            property_id=property_id,
            provider=str(provider),
            name=name,
            address=address,
            credentials_encrypted=self._cipher.encrypt_json(credentials),
            webhook_secret_encrypted=(
                self._cipher.encrypt(webhook_secret) if webhook_secret is not None else None
            ),
            enabled=enabled,
            staff_alerts=staff_alerts,
        )
        if public_id is not None:
            row.public_id = public_id
        self._stage(row)
        await self.session.flush()
        return row

    async def set_webhook_secret(self, *, channel_id: UUID, webhook_secret: str) -> None:
        """Replace the channel's webhook secret (stored encrypted)."""
        channel = await self._get(Channel, channel_id)
        if channel is not None:
            channel.webhook_secret_encrypted = self._cipher.encrypt(webhook_secret)
            await self.session.flush()

    async def set_enabled(self, *, channel_id: UUID, enabled: bool) -> None:
        channel = await self._get(Channel, channel_id)
        if channel is not None:
            channel.enabled = enabled
            await self.session.flush()


@dataclass(frozen=True, slots=True)
class AlertTarget:
    """Where a staff alert goes, secrets decrypted: a phone via a channel, or a webhook URL."""

    id: UUID
    name: str
    kind: str
    channel_id: UUID | None
    address: str | None
    # A Slack-compatible webhook URL is its own credential: kept out of reprs and logs.
    webhook_url: str | None = field(repr=False)
    urgent_only: bool
    user_id: UUID | None = None  # the staff member the target reaches, if it is one person


class AlertTargetRepository(SecretRepository):
    async def list_enabled(self) -> list[AlertTarget]:
        statement = (
            select(StaffAlertTarget)
            .where(StaffAlertTarget.tenant_id == self.tenant_id, StaffAlertTarget.enabled)
            .order_by(StaffAlertTarget.created_at)
        )
        rows = (await self.session.execute(statement)).scalars()
        return [self._decrypted(row) for row in rows]

    async def add_channel_target(
        self,
        *,
        name: str,
        channel_id: UUID,
        address: str,
        user_id: UUID | None = None,
        urgent_only: bool = False,
    ) -> StaffAlertTarget:
        """Alerts go to ``address`` (a staff phone or chat) through ``channel_id``."""
        row = StaffAlertTarget(
            tenant_id=self.tenant_id,
            name=name,
            kind="channel",
            channel_id=channel_id,
            address=address,
            user_id=user_id,
            urgent_only=urgent_only,
        )
        self._stage(row)
        await self.session.flush()
        return row

    async def add_webhook_target(
        self, *, name: str, webhook_url: str, urgent_only: bool = False
    ) -> StaffAlertTarget:
        """Alerts are POSTed as Slack-compatible JSON to ``webhook_url`` (stored encrypted)."""
        row = StaffAlertTarget(
            tenant_id=self.tenant_id,
            name=name,
            kind="webhook",
            webhook_url_encrypted=self._cipher.encrypt(webhook_url),
            urgent_only=urgent_only,
        )
        self._stage(row)
        await self.session.flush()
        return row

    def _decrypted(self, row: StaffAlertTarget) -> AlertTarget:
        url = row.webhook_url_encrypted
        return AlertTarget(
            id=row.id,
            name=row.name,
            kind=row.kind,
            channel_id=row.channel_id,
            address=row.address,
            webhook_url=self._cipher.decrypt(url) if url is not None else None,
            urgent_only=row.urgent_only,
            user_id=row.user_id,
        )
