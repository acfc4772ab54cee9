"""intake's answers to events it can never apply."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.events import InboundMessageReceived, Provider
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from workers.consumers import intake
from workers.runtime.errors import PermanentError


async def test_a_message_for_a_channel_deleted_since_is_refused_for_good(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant()
    event = InboundMessageReceived(
        tenant_id=tenant.tenant_id,
        provider=Provider.GREEN_API,
        channel_id=uuid4(),
        provider_event_id="gone-1",
        provider_message_id="gone-1",
        sender_handle="+34600777003",
        text="Hello?",
    )
    async with uow_factory(tenant.tenant_id) as uow:
        with pytest.raises(PermanentError, match="does not exist"):
            await intake.handle(event, uow)
