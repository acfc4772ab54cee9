"""Staff alerts: send each due notification to the tenant's alert targets, re-alert on a ladder.

At most once per target and rung of the ladder, across crashes: the claiming transaction
records a ``sending`` delivery per target and holds the notification off the sweeps
(``SENDING_HOLD``) before any target is called; the outcomes are recorded in a second
transaction. A delivery a later sweep finds still ``sending`` (the dispatcher died, or could not
record the outcome) becomes ``uncertain`` and the ladder moves on: staff alerts have nothing to
reconcile with, and a reminder follows on the ladder anyway. Only a target that refused the
alert (nothing went out) is tried again, a minute later, while no target has it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Literal
from uuid import UUID

import httpx
import structlog

from domain.ack_links import make_token
from domain.channels import ChannelRoute
from domain.escalation import next_alert_at
from domain.events import Provider
from persistence.models import StaffNotification
from persistence.repositories.channels import AlertTarget
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.dispatch.staff_alerts import AlertFailed, StaffAlert, post_webhook
from workers.providers.base import PermanentSendError, Sender, SendError, UncertainSendError

log = structlog.get_logger(__name__)

RouteLookup = Callable[[UUID], Awaitable[ChannelRoute | None]]
# Called with "claimed" after the claim commits and "called" before the outcome is recorded
# (tests stop the dispatcher there, as a crash would).
Checkpoint = Callable[[str], Awaitable[None]]
Status = Literal["sent", "failed", "uncertain"]
# An alert no target took is tried again this much later.
FAILED_ALERT_RETRY = timedelta(minutes=1)
# No other sweep claims a notification for this long while its alerts are being sent; longer
# than any send may take (webhook timeouts, provider retries), shorter than the first reminder.
SENDING_HOLD = timedelta(minutes=2)


@dataclasses.dataclass(frozen=True, slots=True)
class Claimed:
    """An attempt recorded as ``sending``: the alert and the targets to call."""

    tenant_id: UUID
    notification_id: UUID
    attempt: int
    first_sent_at: datetime
    alert: StaffAlert
    targets: list[tuple[AlertTarget, UUID]]  # with the id of its delivery row
    routes: dict[UUID, ChannelRoute | str]  # per channel target: its route, or why none


async def _no_checkpoint(_: str) -> None:
    return None


class AlertDispatcher:
    def __init__(
        self,
        *,
        uow_factory: UnitOfWorkFactory,
        senders: Mapping[Provider, Sender],
        routes: RouteLookup,
        http: httpx.AsyncClient,
        signing_key: bytes,
        public_base_url: str,
        clock: Callable[[], datetime],
        checkpoint: Checkpoint = _no_checkpoint,
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = senders
        self._routes = routes
        self._http = http
        self._signing_key = signing_key
        self._base_url = public_base_url.rstrip("/")
        self._clock = clock
        self._checkpoint = checkpoint

    async def alert_due(self, *, batch: int = 100) -> int:
        """Send every due alert; returns how many notifications were alerted."""
        async with self._uow_factory.system() as system:
            due = await system.due_notifications(batch)
        results = await asyncio.gather(
            *(self.alert_one(tenant_id=d.tenant_id, notification_id=d.notification_id) for d in due)
        )
        return sum(results)

    async def alert_one(self, *, tenant_id: UUID, notification_id: UUID) -> bool:
        """Alert one notification's targets; True when at least one target has the alert."""
        claimed = await self._claim(tenant_id, notification_id)
        if claimed is None:
            return False
        await self._checkpoint("claimed")
        outcomes = await asyncio.gather(
            *(self._send(target, delivery_id, claimed) for target, delivery_id in claimed.targets)
        )
        await self._checkpoint("called")
        return await self._record(tenant_id, claimed, dict(outcomes))

    async def _claim(self, tenant_id: UUID, notification_id: UUID) -> Claimed | None:
        async with self._uow_factory(tenant_id) as uow:
            now = self._clock()
            notification = await uow.notifications.claim_due(notification_id=notification_id)
            if notification is None:
                return None
            attempt = notification.alerts_sent + 1
            targets = [
                target
                for target in await uow.alert_targets.list_enabled()
                if notification.urgent or not target.urgent_only
            ]
            targets = await _assignee_targets(uow, notification, targets)
            claim = await uow.notifications.claim_deliveries(
                notification_id=notification.id,
                attempt=attempt,
                target_ids=[target.id for target in targets],
                at=now,
            )
            for target_id in claim.interrupted:
                log.warning(
                    "staff alert interrupted, not sent again",
                    notification=str(notification.id),
                    target=str(target_id),
                    attempt=attempt,
                )
            await uow.notifications.hold(notification_id=notification.id, until=now + SENDING_HOLD)
            to_call = [(t, claim.to_send[t.id]) for t in targets if t.id in claim.to_send]
            claimed = Claimed(
                tenant_id=tenant_id,
                notification_id=notification.id,
                attempt=attempt,
                first_sent_at=notification.sent_at or now,
                alert=await self._alert(uow, notification, attempt=attempt),
                targets=to_call,
                routes={t.id: await self._route_of(uow, t) for t, _ in to_call if t.channel_id},
            )
            await uow.commit()
        return claimed

    async def _alert(
        self, uow: UnitOfWork, notification: StaffNotification, *, attempt: int
    ) -> StaffAlert:
        message = (
            await uow.messages.get(message_id=notification.message_id)
            if notification.message_id
            else None
        )
        conversation = await uow.conversations.get(conversation_id=notification.conversation_id)
        guest = await uow.guests.get(guest_id=conversation.guest_id) if conversation else None
        return StaffAlert(
            reason=notification.type,
            urgent=notification.urgent,
            guest_name=guest.full_name if guest else None,
            words=(message.content or "") if message else "",
            content_type=message.content_type if message else "text",
            detail=notification.detail,
            ack_url="",
            attempt=attempt,
        )

    async def _send(
        self, target: AlertTarget, delivery_id: UUID, claimed: Claimed
    ) -> tuple[UUID, tuple[Status, str | None]]:
        """Call one target; its delivery id with the outcome and the error text."""
        token = make_token(
            key=self._signing_key,
            tenant_id=claimed.tenant_id,
            notification_id=claimed.notification_id,
            target_id=target.id,
            now=self._clock(),
        )
        alert = dataclasses.replace(claimed.alert, ack_url=f"{self._base_url}/ack/{token}")
        try:
            if target.kind == "webhook":
                await post_webhook(self._http, target.webhook_url or "", alert)
            else:
                route = claimed.routes.get(target.id, "alert target has no channel")
                if isinstance(route, str):
                    raise PermanentSendError(route)
                await self._senders[route.provider].send(
                    route=route,
                    to=target.address or "",
                    text=alert.text(),
                    idempotency_key=f"alert-{delivery_id}",
                )
        except (AlertFailed, SendError) as exc:
            status: Status = "uncertain" if _may_have_arrived(exc) else "failed"
            log.warning("staff alert failed", target=str(target.id), status=status, error=str(exc))
            return delivery_id, (status, f"{target.name}: {exc}")
        return delivery_id, ("sent", None)

    async def _record(
        self,
        tenant_id: UUID,
        claimed: Claimed,
        outcomes: dict[UUID, tuple[Status, str | None]],
    ) -> bool:
        async with self._uow_factory(tenant_id) as uow:
            now = self._clock()
            for delivery_id, (status, error) in outcomes.items():
                await uow.notifications.finish_delivery(
                    delivery_id=delivery_id, status=status, at=now, error=error
                )
            statuses = await uow.notifications.delivery_statuses(
                notification_id=claimed.notification_id, attempt=claimed.attempt
            )
            reached = any(status in ("sent", "uncertain") for status in statuses.values())
            if reached:
                await uow.notifications.record_alert(
                    notification_id=claimed.notification_id,
                    attempt=claimed.attempt,
                    at=claimed.first_sent_at,
                    next_alert_at=next_alert_at(claimed.first_sent_at, claimed.attempt),
                )
            else:
                errors = [error for _, error in outcomes.values() if error]
                await uow.notifications.record_failure(
                    notification_id=claimed.notification_id,
                    error="; ".join(errors) or "no staff alert target configured",
                    next_alert_at=now + FAILED_ALERT_RETRY,
                )
            await uow.commit()
        return reached

    async def _route_of(self, uow: UnitOfWork, target: AlertTarget) -> ChannelRoute | str:
        channel = (
            await uow.channels.get(channel_id=target.channel_id) if target.channel_id else None
        )
        route = await self._routes(channel.public_id) if channel else None
        if route is None or not route.enabled:
            return "alert channel missing or disabled"
        return route


async def _assignee_targets(
    uow: UnitOfWork, notification: StaffNotification, targets: list[AlertTarget]
) -> list[AlertTarget]:
    """A guest writing in a conversation staff took over is its assignee's business: only the
    assignee's own targets are alerted, when they have any (otherwise every target)."""
    if notification.type != "guest_message":
        return targets
    conversation = await uow.conversations.get(conversation_id=notification.conversation_id)
    assignee = conversation.assignee_id if conversation else None
    own = [target for target in targets if assignee is not None and target.user_id == assignee]
    return own or targets


def _may_have_arrived(error: AlertFailed | SendError) -> bool:
    """Whether the target may have the alert although the call failed (e.g. a read timeout)."""
    if isinstance(error, AlertFailed):
        return error.uncertain
    return isinstance(error, UncertainSendError)
