"""Staff alerts: send each due notification to the tenant's alert targets, re-alert on a ladder.

An alert that no target took stays due and is tried again on the next sweep; one acknowledged
meanwhile is skipped (the claim re-reads its status under a row lock).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from uuid import UUID

import httpx
import structlog

from domain.ack_links import make_token
from domain.channels import ChannelRoute
from domain.escalation import next_alert_at
from domain.events import Provider
from persistence.repositories.channels import AlertTarget
from persistence.uow import UnitOfWork, UnitOfWorkFactory
from workers.dispatch.staff_alerts import AlertFailed, StaffAlert, post_webhook
from workers.providers.base import Sender, SendError

log = structlog.get_logger(__name__)

RouteLookup = Callable[[UUID], Awaitable[ChannelRoute | None]]
EXCERPT_CHARS = 160
# An alert no target took is tried again this much later.
FAILED_ALERT_RETRY = timedelta(minutes=1)


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
    ) -> None:
        self._uow_factory = uow_factory
        self._senders = senders
        self._routes = routes
        self._http = http
        self._signing_key = signing_key
        self._base_url = public_base_url.rstrip("/")
        self._clock = clock

    async def alert_due(self, *, batch: int = 100) -> int:
        """Send every due alert; returns how many notifications were alerted."""
        async with self._uow_factory.system() as system:
            due = await system.due_notifications(batch)
        results = await asyncio.gather(
            *(self.alert_one(tenant_id=d.tenant_id, notification_id=d.notification_id) for d in due)
        )
        return sum(results)

    async def alert_one(self, *, tenant_id: UUID, notification_id: UUID) -> bool:
        async with self._uow_factory(tenant_id) as uow:
            now = self._clock()
            notification = await uow.notifications.claim_due(notification_id=notification_id)
            if notification is None:
                return False
            message = (
                await uow.messages.get(message_id=notification.message_id)
                if notification.message_id
                else None
            )
            conversation = await uow.conversations.get(conversation_id=notification.conversation_id)
            guest = await uow.guests.get(guest_id=conversation.guest_id) if conversation else None
            token = make_token(
                key=self._signing_key, tenant_id=tenant_id, notification_id=notification.id, now=now
            )
            alert = StaffAlert(
                reason=notification.type,
                urgent=notification.urgent,
                guest_name=guest.full_name if guest else None,
                excerpt=((message.content or "") if message else "")[:EXCERPT_CHARS],
                detail=notification.detail,
                ack_url=f"{self._base_url}/ack/{token}",
                attempt=notification.alerts_sent + 1,
            )
            targets = [
                target
                for target in await uow.alert_targets.list_enabled()
                if notification.urgent or not target.urgent_only
            ]
            errors = [err for err in [await self._send(uow, t, alert) for t in targets] if err]
            delivered = len(targets) > len(errors)
            if delivered:
                await uow.notifications.record_alert(
                    notification_id=notification.id,
                    at=now,
                    next_alert_at=next_alert_at(
                        notification.sent_at or now, notification.alerts_sent + 1
                    ),
                )
            else:
                await uow.notifications.record_failure(
                    notification_id=notification.id,
                    error="; ".join(errors) or "no staff alert target configured",
                    next_alert_at=now + FAILED_ALERT_RETRY,
                )
            await uow.commit()
        return delivered

    async def _send(self, uow: UnitOfWork, target: AlertTarget, alert: StaffAlert) -> str | None:
        """Send to one target; the error text, or None when it went out."""
        try:
            if target.kind == "webhook":
                await post_webhook(self._http, target.webhook_url or "", alert)
            else:
                channel_route = await self._route_of(uow, target)
                await self._senders[channel_route.provider].send(
                    route=channel_route,
                    to=target.address or "",
                    text=alert.text(),
                    idempotency_key=f"alert-{target.id}-{alert.attempt}",
                )
        except (AlertFailed, SendError, LookupError) as exc:
            log.warning("staff alert failed", target=str(target.id), error=str(exc))
            return f"{target.name}: {exc}"
        return None

    async def _route_of(self, uow: UnitOfWork, target: AlertTarget) -> ChannelRoute:
        channel = (
            await uow.channels.get(channel_id=target.channel_id) if target.channel_id else None
        )
        route = await self._routes(channel.public_id) if channel else None
        if route is None or not route.enabled:
            raise LookupError("alert channel missing or disabled")
        return route
