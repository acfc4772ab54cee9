"""Staff notifications: raised once per message and reason, re-alerted until acknowledged."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from persistence.models import StaffNotification
from persistence.repositories.base import Repository


class NotificationRepository(Repository):
    async def get(
        self, *, notification_id: UUID, for_update: bool = False
    ) -> StaffNotification | None:
        return await self._get(StaffNotification, notification_id, for_update=for_update)

    async def add(
        self,
        *,
        conversation_id: UUID,
        type: str,
        next_alert_at: datetime,
        message_id: UUID | None = None,
        urgent: bool = False,
        detail: str = "",
    ) -> tuple[StaffNotification, bool]:
        """Raise a notification; returns ``(notification, created)``.

        A second escalation of the same message for the same reason returns the first one.
        """
        inserted = (
            await self.session.scalars(
                insert(StaffNotification)
                .values(
                    tenant_id=self.tenant_id,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    type=type,
                    urgent=urgent,
                    detail=detail,
                    next_alert_at=next_alert_at,
                )
                .on_conflict_do_nothing(
                    index_elements=["tenant_id", "message_id", "type"],
                    index_where=text("message_id IS NOT NULL"),
                )
                .returning(StaffNotification)
            )
        ).one_or_none()
        if inserted is not None:
            return inserted, True
        statement = select(StaffNotification).where(
            StaffNotification.tenant_id == self.tenant_id,
            StaffNotification.message_id == message_id,
            StaffNotification.type == type,
        )
        return (await self.session.execute(statement)).scalar_one(), False

    async def claim_due(self, *, notification_id: UUID) -> StaffNotification | None:
        """Lock a notification whose alert is due; None if acknowledged, not due or locked."""
        statement = (
            select(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
                StaffNotification.status.in_(("pending", "sent")),
                StaffNotification.next_alert_at <= func.now(),
            )
            .with_for_update(skip_locked=True)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def record_alert(
        self, *, notification_id: UUID, at: datetime, next_alert_at: datetime | None
    ) -> bool:
        """An alert went out; ``next_alert_at`` is the reminder (None: no more reminders)."""
        result = await self.session.execute(
            update(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
                StaffNotification.status.in_(("pending", "sent")),
            )
            .values(
                status="sent",
                alerts_sent=StaffNotification.alerts_sent + 1,
                sent_at=func.coalesce(StaffNotification.sent_at, at),
                next_alert_at=next_alert_at,
                last_error=None,
                updated_at=func.now(),
            )
            .returning(StaffNotification.id)
        )
        return result.scalar_one_or_none() is not None

    async def record_failure(
        self, *, notification_id: UUID, error: str, next_alert_at: datetime
    ) -> None:
        """The alert could not be sent; try again at ``next_alert_at``."""
        await self.session.execute(
            update(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
                StaffNotification.status.in_(("pending", "sent")),
            )
            .values(last_error=error[:2000], next_alert_at=next_alert_at, updated_at=func.now())
        )

    async def acknowledge(
        self, *, notification_id: UUID, at: datetime, acknowledged_by: UUID | None = None
    ) -> bool:
        """Stop the re-alerts; False if it was acknowledged before (or does not exist)."""
        result = await self.session.execute(
            update(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
                StaffNotification.status != "acknowledged",
            )
            .values(
                status="acknowledged",
                acknowledged_at=at,
                acknowledged_by=acknowledged_by,
                next_alert_at=None,
                updated_at=func.now(),
            )
            .returning(StaffNotification.id)
        )
        return result.scalar_one_or_none() is not None

    async def list_open(self) -> list[StaffNotification]:
        """Notifications not yet acknowledged, oldest first."""
        statement = (
            select(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.status != "acknowledged",
            )
            .order_by(StaffNotification.created_at)
        )
        return list((await self.session.execute(statement)).scalars())
