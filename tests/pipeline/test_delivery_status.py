"""intake applies provider status callbacks forward only, and escalates a failed delivery."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from domain.events import DeliveryStatus, DeliveryStatusReceived, Provider
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant, TenantFixture
from workers.consumers import intake


async def sent_message(
    uow_factory: UnitOfWorkFactory, tenant: TenantFixture, provider_id: str
) -> UUID:
    """An outbound reply the provider accepted as ``provider_id``."""
    now = datetime.now(UTC)
    async with uow_factory(tenant.tenant_id) as uow:
        guest = await uow.guests.upsert_by_identity(kind="twilio_sms", handle="+14155550100")
        conversation, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=tenant.channel_id, at=now
        )
        reply = await uow.outbound.draft(
            conversation_id=conversation.id,
            channel_id=tenant.channel_id,
            content="Check-in is from 3 pm.",
            send_after=now,
        )
        await uow.outbound.update_status(
            message_id=reply.id, status=DeliveryStatus.SENT, at=now, provider_message_id=provider_id
        )
        await uow.commit()
        return reply.id


def callback(
    tenant: TenantFixture, provider_id: str, status: DeliveryStatus, **error: str
) -> DeliveryStatusReceived:
    return DeliveryStatusReceived(
        tenant_id=tenant.tenant_id,
        provider=Provider.TWILIO_SMS,
        channel_id=tenant.channel_id,
        provider_event_id=f"{provider_id}:{status.value}",
        provider_message_id=provider_id,
        status=status,
        **error,
    )


async def apply(uow_factory: UnitOfWorkFactory, event: DeliveryStatusReceived) -> list[str]:
    async with uow_factory(event.tenant_id) as uow:
        await intake.handle(event, uow)
        emitted = [e.routing_key for e in uow.emitted]
        await uow.commit()
    return emitted


async def status_of(
    uow_factory: UnitOfWorkFactory, tenant: TenantFixture, message_id: UUID
) -> tuple[str, str | None]:
    async with uow_factory(tenant.tenant_id) as uow:
        message = await uow.messages.get(message_id=message_id)
        assert message is not None
        return message.status, message.error


async def test_a_late_sent_never_overwrites_read(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant(provider=Provider.TWILIO_SMS, address="+14155550000")
    message_id = await sent_message(uow_factory, tenant, "SM-late-sent")
    await apply(uow_factory, callback(tenant, "SM-late-sent", DeliveryStatus.DELIVERED))
    await apply(uow_factory, callback(tenant, "SM-late-sent", DeliveryStatus.READ))
    await apply(uow_factory, callback(tenant, "SM-late-sent", DeliveryStatus.SENT))
    assert await status_of(uow_factory, tenant, message_id) == ("read", None)


async def test_a_failed_delivery_keeps_the_provider_error_and_escalates(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant(provider=Provider.TWILIO_SMS, address="+14155550000")
    message_id = await sent_message(uow_factory, tenant, "SM-undelivered")
    failed = callback(
        tenant,
        "SM-undelivered",
        DeliveryStatus.FAILED,
        error_code="30003",
        error_message="Unreachable destination handset",
    )
    assert await apply(uow_factory, failed) == ["escalation.requested"]
    status, error = await status_of(uow_factory, tenant, message_id)
    assert status == "failed"
    assert error is not None
    assert "30003" in error
    assert "Unreachable" in error
    # The provider retries the same callback: no second escalation.
    assert await apply(uow_factory, failed) == []
