"""Send-limit commands the API and the operator CLI share: a channel's own send rate in place
of its provider's limit. Writes the channel and its audit row in the caller's unit of work;
the caller commits."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

from domain.rate_limits import MAX_SENDS_PER_SECOND
from persistence.models import Channel
from persistence.repositories.access import AuditActor
from persistence.repositories.base import NotFoundError
from persistence.uow import UnitOfWork
from workers.api.commands import CommandError


class BadSendRate(CommandError):
    field = "sends_per_second"


async def set_send_rate(
    uow: UnitOfWork, *, actor: AuditActor, channel_id: UUID, sends_per_second: Decimal | None
) -> Channel:
    """Set the channel's own sends a second (None: back to the provider's limit), audited."""
    if sends_per_second is not None:
        if not sends_per_second.is_finite() or not 0 < sends_per_second <= MAX_SENDS_PER_SECOND:
            raise BadSendRate(f"must be above 0 and at most {MAX_SENDS_PER_SECOND:g}")
        if sends_per_second != round(sends_per_second, 3):
            raise BadSendRate("at most 3 decimal places (e.g. 0.125)")
    row = await uow.channels.get(channel_id=channel_id)
    if row is None:
        raise NotFoundError(f"channel {channel_id} not found")
    old = _values(row.sends_per_second)
    row.sends_per_second = sends_per_second
    await uow.session.flush()
    await uow.session.refresh(row)
    await uow.audit.add(
        actor=actor,
        resource="channel",
        resource_id=row.id,
        action="set_send_limit",
        old=old,
        new=_values(row.sends_per_second),
    )
    return row


def _values(value: Decimal | None) -> dict[str, object]:
    return {"sends_per_second": None if value is None else str(value)}
