"""Staff notifications: raised once per message and reason, re-alerted until acknowledged.

Each alert of a notification to one target at one rung of the ladder is a
``staff_alert_deliveries`` row, written ``sending`` and committed before the target is called.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from domain.ack_links import Acknowledgement
from persistence.models import StaffAlertDelivery, StaffAlertTarget, StaffNotification, User
from persistence.repositories.base import Repository

# Why a delivery found ``sending`` by a later sweep is not sent again.
INTERRUPTED = "the dispatcher stopped while sending: the alert may or may not have gone out"


@dataclass(frozen=True, slots=True)
class AttemptClaim:
    """The targets to call now (delivery id by target), and those left uncertain by a crash."""

    to_send: dict[UUID, UUID]
    interrupted: list[UUID]


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

    async def hold(self, *, notification_id: UUID, until: datetime) -> None:
        """No sweep claims the notification before ``until`` (while its alerts are sent)."""
        await self.session.execute(
            update(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
                StaffNotification.status.in_(("pending", "sent")),
            )
            .values(next_alert_at=until, updated_at=func.now())
        )

    async def record_alert(
        self,
        *,
        notification_id: UUID,
        attempt: int,
        at: datetime,
        next_alert_at: datetime | None,
    ) -> bool:
        """Alert ``attempt`` went out; ``next_alert_at`` is the reminder (None: no more).

        Counted once: a second call for the same attempt changes nothing.
        """
        result = await self.session.execute(
            update(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
                StaffNotification.status.in_(("pending", "sent")),
                StaffNotification.alerts_sent == attempt - 1,
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
        self,
        *,
        notification_id: UUID,
        at: datetime,
        acknowledged_by: UUID | None = None,
        target_id: UUID | None = None,
    ) -> bool:
        """Stop the re-alerts; False if it was acknowledged before (or does not exist).

        ``target_id`` is the alert target whose link was used: its staff user (if it has one)
        is recorded as ``acknowledged_by``, its name as ``acknowledged_via``.
        """

        def of_target(column: Any) -> Any:
            return (
                select(column)
                .where(
                    StaffAlertTarget.tenant_id == self.tenant_id,
                    StaffAlertTarget.id == target_id,
                )
                .scalar_subquery()
            )

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
                acknowledged_by=func.coalesce(acknowledged_by, of_target(StaffAlertTarget.user_id)),
                acknowledged_via=of_target(StaffAlertTarget.name),
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

    async def acknowledgement(self, *, notification_id: UUID) -> Acknowledgement | None:
        """Whether and by whom a notification was acknowledged; None if it does not exist."""
        statement = (
            select(
                StaffNotification.acknowledged_at,
                User.full_name,
                StaffNotification.acknowledged_via,
            )
            .outerjoin(
                User,
                (User.tenant_id == StaffNotification.tenant_id)
                & (User.id == StaffNotification.acknowledged_by),
            )
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
            )
        )
        row = (await self.session.execute(statement)).one_or_none()
        return Acknowledgement(*row) if row is not None else None

    async def claim_deliveries(
        self, *, notification_id: UUID, attempt: int, target_ids: Sequence[UUID], at: datetime
    ) -> AttemptClaim:
        """Record alert ``attempt`` as ``sending`` to each target not yet reached.

        A delivery still ``sending`` was interrupted by a crash: it becomes ``uncertain`` and is
        not sent again. A ``failed`` one (the target refused it) is tried again; ``sent`` and
        ``uncertain`` ones are left alone.
        """
        deliveries = StaffAlertDelivery
        this_attempt = (
            deliveries.tenant_id == self.tenant_id,
            deliveries.notification_id == notification_id,
            deliveries.attempt == attempt,
        )
        interrupted = await self.session.scalars(
            update(deliveries)
            .where(*this_attempt, deliveries.status == "sending")
            .values(status="uncertain", error=INTERRUPTED, finished_at=at, updated_at=func.now())
            .returning(deliveries.target_id)
        )
        interrupted_ids = list(interrupted)
        to_send: dict[UUID, UUID] = {}
        if target_ids:
            inserted = await self.session.execute(
                insert(deliveries)
                .values(
                    [
                        {
                            "tenant_id": self.tenant_id,
                            "notification_id": notification_id,
                            "target_id": target_id,
                            "attempt": attempt,
                            "started_at": at,
                        }
                        for target_id in target_ids
                    ]
                )
                .on_conflict_do_nothing(
                    index_elements=["tenant_id", "notification_id", "target_id", "attempt"]
                )
                .returning(deliveries.target_id, deliveries.id)
            )
            retried = await self.session.execute(
                update(deliveries)
                .where(
                    *this_attempt,
                    deliveries.status == "failed",
                    deliveries.target_id.in_(target_ids),
                )
                .values(
                    status="sending",
                    tries=deliveries.tries + 1,
                    error=None,
                    started_at=at,
                    finished_at=None,
                    updated_at=func.now(),
                )
                .returning(deliveries.target_id, deliveries.id)
            )
            to_send = {row.target_id: row.id for row in [*inserted, *retried]}
        return AttemptClaim(to_send=to_send, interrupted=interrupted_ids)

    async def finish_delivery(
        self, *, delivery_id: UUID, status: str, at: datetime, error: str | None = None
    ) -> None:
        """The target was called: ``sent``, ``failed`` (refused) or ``uncertain``."""
        await self.session.execute(
            update(StaffAlertDelivery)
            .where(
                StaffAlertDelivery.tenant_id == self.tenant_id,
                StaffAlertDelivery.id == delivery_id,
                StaffAlertDelivery.status == "sending",
            )
            .values(
                status=status,
                error=error[:2000] if error else None,
                finished_at=at,
                updated_at=func.now(),
            )
        )

    async def delivery_statuses(self, *, notification_id: UUID, attempt: int) -> dict[UUID, str]:
        """The status of alert ``attempt`` at each target it was recorded for."""
        statement = select(StaffAlertDelivery.target_id, StaffAlertDelivery.status).where(
            StaffAlertDelivery.tenant_id == self.tenant_id,
            StaffAlertDelivery.notification_id == notification_id,
            StaffAlertDelivery.attempt == attempt,
        )
        return {row.target_id: row.status for row in await self.session.execute(statement)}
