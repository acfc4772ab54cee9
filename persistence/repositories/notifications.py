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

from sqlalchemy import ScalarSelect, func, null, select, update
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.dialects.postgresql import insert

from domain.ack_links import Acknowledgement
from persistence.models import StaffAlertDelivery, StaffAlertTarget, StaffNotification, User
from persistence.models.notifications import (
    ALERTING_STATUSES,
    AlertDeliveryStatus,
    NotificationStatus,
)
from persistence.repositories.base import Repository
from persistence.statements import Compiled, param, table_of

notifications = table_of(StaffNotification)
alert_targets = table_of(StaffAlertTarget)


def _of_target(column: str) -> ScalarSelect[Any]:
    """A column of the alert target whose acknowledgement link was used."""
    return (
        select(alert_targets.c[column])
        .where(
            alert_targets.c.tenant_id == param("tenant_id"),
            alert_targets.c.id == param("target_id", PG_UUID(as_uuid=True)),
        )
        .scalar_subquery()
    )


# Escalation raises one per escalated message: a second request for the same message and
# reason finds the first.
_RAISE = Compiled.of(
    insert(notifications)
    .values(
        id=func.gen_random_uuid(),
        tenant_id=param("tenant_id"),
        conversation_id=param("conversation_id"),
        message_id=param("message_id"),
        type=param("type"),
        urgent=param("urgent"),
        detail=param("detail"),
        next_alert_at=param("next_alert_at"),
    )
    .on_conflict_do_nothing(
        index_elements=[
            notifications.c.tenant_id,
            notifications.c.message_id,
            notifications.c.type,
        ],
        index_where=notifications.c.message_id.is_not(None),
    )
    .returning(notifications.c.id, notifications.c.next_alert_at)
)
_RAISED = Compiled.of(
    select(notifications.c.id, notifications.c.next_alert_at).where(
        notifications.c.tenant_id == param("tenant_id"),
        notifications.c.message_id == param("message_id"),
        notifications.c.type == param("type"),
    )
)
_ACKNOWLEDGE = Compiled.of(
    update(notifications)
    .where(
        notifications.c.tenant_id == param("tenant_id"),
        notifications.c.id == param("notification_id"),
        notifications.c.status != NotificationStatus.ACKNOWLEDGED,
    )
    .values(
        status=NotificationStatus.ACKNOWLEDGED,
        acknowledged_at=param("at"),
        acknowledged_by=func.coalesce(
            param("acknowledged_by", PG_UUID(as_uuid=True)), _of_target("user_id")
        ),
        acknowledged_via=_of_target("name"),
        next_alert_at=null(),
        updated_at=func.now(),
    )
    .returning(notifications.c.id)
)

# Why a delivery found ``sending`` by a later sweep is not sent again.
INTERRUPTED = "the dispatcher stopped while sending: the alert may or may not have gone out"


@dataclass(frozen=True, slots=True)
class Raised:
    """A staff notification as escalation raised it (or found it raised)."""

    id: UUID
    next_alert_at: datetime | None


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
    ) -> tuple[Raised, bool]:
        """Raise a notification; returns ``(notification, created)``.

        A second escalation of the same message for the same reason returns the first one.
        """
        inserted = await self.sql.row(
            _RAISE,
            tenant_id=self.tenant_id,
            conversation_id=conversation_id,
            message_id=message_id,
            type=type,
            urgent=urgent,
            detail=detail,
            next_alert_at=next_alert_at,
        )
        if inserted is not None:
            return Raised(*inserted), True
        found = await self.sql.row(
            _RAISED, tenant_id=self.tenant_id, message_id=message_id, type=type
        )
        assert found is not None  # the conflicting row: a notification is never deleted
        return Raised(*found), False

    async def claim_due(self, *, notification_id: UUID) -> StaffNotification | None:
        """Lock a notification whose alert is due; None if acknowledged, not due or locked."""
        statement = (
            select(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.id == notification_id,
                StaffNotification.status.in_(ALERTING_STATUSES),
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
                StaffNotification.status.in_(ALERTING_STATUSES),
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
                StaffNotification.status.in_(ALERTING_STATUSES),
                StaffNotification.alerts_sent == attempt - 1,
            )
            .values(
                status=NotificationStatus.SENT,
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
                StaffNotification.status.in_(ALERTING_STATUSES),
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
        found = await self.sql.value(
            _ACKNOWLEDGE,
            tenant_id=self.tenant_id,
            notification_id=notification_id,
            at=at,
            acknowledged_by=acknowledged_by,
            target_id=target_id,
        )
        return found is not None

    async def list_open(self) -> list[StaffNotification]:
        """Notifications not yet acknowledged, oldest first."""
        statement = (
            select(StaffNotification)
            .where(
                StaffNotification.tenant_id == self.tenant_id,
                StaffNotification.status != NotificationStatus.ACKNOWLEDGED,
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
            .where(*this_attempt, deliveries.status == AlertDeliveryStatus.SENDING)
            .values(
                status=AlertDeliveryStatus.UNCERTAIN,
                error=INTERRUPTED,
                finished_at=at,
                updated_at=func.now(),
            )
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
                    deliveries.status == AlertDeliveryStatus.FAILED,
                    deliveries.target_id.in_(target_ids),
                )
                .values(
                    status=AlertDeliveryStatus.SENDING,
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
                StaffAlertDelivery.status == AlertDeliveryStatus.SENDING,
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
