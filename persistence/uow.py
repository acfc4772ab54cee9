"""The tenant-bound unit of work: one transaction, one tenant, every repository.

``async with uow_factory(tenant_id) as uow:`` opens a transaction and sets ``app.tenant_id``
for it alone (``set_config(..., true)``), so row-level security shows this tenant's rows only
and a pooled connection carries nothing over to its next user. It rolls back unless
``commit()`` was called.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from types import TracebackType
from typing import Protocol
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from domain.events import Event
from persistence.config import CipherSettings, DatabaseSettings
from persistence.crypto import SecretCipher
from persistence.db import create_engine, create_sessionmaker
from persistence.repositories.access import AccessRepository, ApiKeyRepository, AuditRepository
from persistence.repositories.channels import AlertTargetRepository, ChannelRepository
from persistence.repositories.composer import ComposerRepository
from persistence.repositories.condition_triggers import ConditionTriggerRepository
from persistence.repositories.configuration import ConfigurationRepository
from persistence.repositories.conversations import ConversationRepository
from persistence.repositories.documents import DocumentRepository
from persistence.repositories.flows import FlowRepository
from persistence.repositories.guests import GuestRepository
from persistence.repositories.inbound import InboundRepository
from persistence.repositories.inbox import StaffInboxRepository
from persistence.repositories.knowledge import (
    AiSettingsRepository,
    KnowledgeRepository,
    PromptRepository,
)
from persistence.repositories.messages import MessageRepository
from persistence.repositories.messaging import TemplateRepository, TriggerRepository
from persistence.repositories.notifications import NotificationRepository
from persistence.repositories.outbound import OutboundRepository
from persistence.repositories.pipeline import (
    CommsEventRepository,
    InboxRepository,
    OutboxRepository,
    WebhookEventRepository,
)
from persistence.repositories.rate_limits import RateLimitRepository
from persistence.repositories.reports import ReportRepository
from persistence.repositories.reservations import ReservationRepository
from persistence.repositories.routing import RoutingRepository
from persistence.repositories.scheduling import ScheduleRepository
from persistence.repositories.service_levels import ServiceLevelRepository
from persistence.repositories.staff import StaffRepository
from persistence.repositories.tenancy import (
    AssistantProfileRepository,
    PropertyRepository,
    TenantRepository,
)
from persistence.retry import connection_retrying
from persistence.statements import Sql
from persistence.system import SystemGateway

_BIND_TENANT = "SELECT set_config('app.tenant_id', $1, true)"


async def _bind_tenant(session: AsyncSession, tenant_id: UUID) -> None:
    """Scope the transaction's statements to ``tenant_id`` (row-level security).

    The first statement of a unit of work begins the transaction (the driver adapter's BEGIN),
    so it goes through SQLAlchemy, without ORM compilation: every unit of work pays for it.
    """
    connection = await session.connection()
    await connection.exec_driver_sql(_BIND_TENANT, (str(tenant_id),))


# Attempts to open a transaction while the database is unreachable (about 6 s of backoff).
DEFAULT_CONNECT_ATTEMPTS = 6


class FactorySettings(DatabaseSettings, CipherSettings, Protocol):
    pass


class UnitOfWork:
    """One transaction of one tenant; after ``commit`` the unit of work is spent."""

    tenant_id: UUID
    session: AsyncSession
    sql: Sql  # the transaction's compiled statements, shared by its repositories
    emitted: list[Event]

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        tenant_id: UUID,
        *,
        cipher: SecretCipher | None,
        attempts: int = DEFAULT_CONNECT_ATTEMPTS,
    ) -> None:
        self.tenant_id = tenant_id
        self.emitted = []
        self._sessionmaker = sessionmaker
        self._cipher = cipher
        self._attempts = attempts
        self._committed = False

    async def __aenter__(self) -> UnitOfWork:
        async for attempt in connection_retrying(self._attempts):
            with attempt:
                self.session = await self._begin()
        self.sql = Sql(self.session)
        self._bind_repositories()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if not self._committed:
                if exc is None:
                    await self.rollback()
                else:
                    # The handler's error is the one to see, not a rollback failing after it
                    # (e.g. on a connection the same outage already broke).
                    with contextlib.suppress(Exception):
                        await self.rollback()
        finally:
            await self.session.close()

    def emit(self, event: Event) -> None:
        """Stage ``event`` in the outbox (its row is written as the unit of work commits)."""
        self.outbox.stage(event=event)

    async def commit(self) -> None:
        await self.outbox.write_staged()
        await self.session.commit()
        self._committed = True

    async def rollback(self) -> None:
        # Nothing of a rolled-back transaction may be published, even if the rollback fails.
        self.emitted.clear()
        await self.session.rollback()

    async def _begin(self) -> AsyncSession:
        session = self._sessionmaker()
        try:
            await _bind_tenant(session, self.tenant_id)
        except BaseException:
            await session.close()
            raise
        return session

    async def flush(self) -> None:
        """Write what is staged (ORM rows, outbox rows) now, under the bound tenant."""
        await self.outbox.write_staged()
        await self.session.flush()

    async def rebind(self, tenant_id: UUID) -> None:
        """Go on in the same transaction as ``tenant_id``: what the previous tenant staged is
        written first, under its own tenant, then every statement runs as the new one.

        For a runner applying several events in one transaction; the repositories are bound
        afresh, ``emitted`` keeps growing (the caller tells each event's part by position).
        """
        await self.flush()
        await _bind_tenant(self.session, tenant_id)
        self.tenant_id = tenant_id
        self._bind_repositories()

    def _bind_repositories(self) -> None:
        session, tenant, sql = self.session, self.tenant_id, self.sql
        self.inbox = InboxRepository(session, tenant, sql)
        self.outbox = OutboxRepository(session, tenant, self.emitted, sql)
        self.webhook_events = WebhookEventRepository(session, tenant, sql)
        self.comms_events = CommsEventRepository(session, tenant, sql)
        self.tenants = TenantRepository(session, tenant, sql)
        self.properties = PropertyRepository(session, tenant, sql)
        self.assistant_profiles = AssistantProfileRepository(session, tenant, sql)
        self.channels = ChannelRepository(session, tenant, self._cipher, sql)
        self.alert_targets = AlertTargetRepository(session, tenant, self._cipher, sql)
        self.guests = GuestRepository(session, tenant, sql)
        self.reservations = ReservationRepository(session, tenant, sql)
        self.conversations = ConversationRepository(session, tenant, sql)
        self.messages = MessageRepository(session, tenant, sql)
        self.inbound = InboundRepository(session, tenant, sql)
        self.outbound = OutboundRepository(session, tenant, sql)
        self.flows = FlowRepository(session, tenant, sql)
        self.staff_inbox = StaffInboxRepository(session, tenant, sql)
        self.knowledge = KnowledgeRepository(session, tenant, sql)
        self.documents = DocumentRepository(session, tenant, sql)
        self.ai_settings = AiSettingsRepository(session, tenant, sql)
        self.prompts = PromptRepository(session, tenant, sql)
        self.notifications = NotificationRepository(session, tenant, sql)
        self.templates = TemplateRepository(session, tenant, sql)
        self.triggers = TriggerRepository(session, tenant, sql)
        self.condition_triggers = ConditionTriggerRepository(session, tenant, sql)
        self.schedule = ScheduleRepository(session, tenant, sql)
        self.service_levels = ServiceLevelRepository(session, tenant, sql)
        self.staff = StaffRepository(session, tenant, sql)
        self.access = AccessRepository(session, tenant, sql)
        self.api_keys = ApiKeyRepository(session, tenant, sql)
        self.audit = AuditRepository(session, tenant, sql)
        self.configuration = ConfigurationRepository(session, tenant, self._cipher, sql)
        self.composer = ComposerRepository(session, tenant, self._cipher, sql)
        self.rate_limits = RateLimitRepository(session, tenant, sql)
        self.routing = RoutingRepository(session, tenant, sql)
        self.reports = ReportRepository(session, tenant, sql)


class UnitOfWorkFactory:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        *,
        cipher: SecretCipher | None = None,
        connect_attempts: int = DEFAULT_CONNECT_ATTEMPTS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.cipher = cipher
        self._attempts = connect_attempts

    @classmethod
    def from_settings(cls, settings: FactorySettings) -> UnitOfWorkFactory:
        """Connects as the restricted application role (``settings.database_url``)."""
        engine = create_engine(
            settings.database_url,
            schema=settings.db_schema,
            pool_size=settings.db_pool_size,
            pre_ping=settings.db_pool_pre_ping,
        )
        return cls(create_sessionmaker(engine), cipher=SecretCipher.from_settings(settings))

    def __call__(self, tenant_id: UUID) -> UnitOfWork:
        return UnitOfWork(self.sessionmaker, tenant_id, cipher=self.cipher, attempts=self._attempts)

    def system(self) -> SystemGateway:
        return SystemGateway(self.sessionmaker, attempts=self._attempts)

    async def mark_published(self, *, tenant_id: UUID, event_ids: Sequence[UUID]) -> None:
        """After publishing a committed transaction's events: the relay need not send them."""
        if not event_ids:
            return
        async with self(tenant_id) as uow:
            await uow.outbox.mark_published(event_ids=event_ids)
            await uow.commit()

    async def dispose(self) -> None:
        bind = self.sessionmaker.kw.get("bind")
        if bind is not None:
            await bind.dispose()
