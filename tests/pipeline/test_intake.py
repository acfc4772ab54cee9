"""intake's answers to events it can never apply."""

from __future__ import annotations

import dataclasses
from typing import Any
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text

from domain.events import InboundMessageReceived, Provider
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant
from tests.providers import payloads
from tests.providers.factories import make_route
from workers.consumers import intake
from workers.providers import email, telegram
from workers.providers.base import UploadedFile
from workers.runtime.classify import is_data_error
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


async def stored_media(
    uow_factory: UnitOfWorkFactory, tenant_id: UUID, provider_message_id: str
) -> list[dict[str, Any]]:
    async with uow_factory(tenant_id) as uow:
        result = await uow.session.execute(
            text(
                "SELECT f.url, f.mime_type, f.file_name, f.size_bytes, f.caption, m.content_type"
                " FROM media_files f JOIN messages m ON m.id = f.message_id"
                " WHERE m.provider_message_id = :p ORDER BY f.file_name"
            ),
            {"p": provider_message_id},
        )
        return [dict(row) for row in result.mappings()]


async def test_a_mails_attachments_are_stored_with_name_type_and_size(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant(provider=Provider.EMAIL, address="frontdesk@hotel.example")
    route = dataclasses.replace(
        make_route(Provider.EMAIL), tenant_id=tenant.tenant_id, channel_id=tenant.channel_id
    )
    files = [
        UploadedFile("attachment-1", "booking.pdf", "application/pdf", 48213),
        UploadedFile("attachment-2", "room.jpg", "image/jpeg", 1200),
    ]
    [event] = email.parse_inbound(route, payloads.MAILGUN_FIELDS, files)
    async with uow_factory(tenant.tenant_id) as uow:
        await intake.handle(event, uow)
        await uow.commit()
    rows = await stored_media(uow_factory, tenant.tenant_id, event.provider_message_id)
    assert [(r["file_name"], r["mime_type"], r["size_bytes"]) for r in rows] == [
        ("booking.pdf", "application/pdf", 48213),
        ("room.jpg", "image/jpeg", 1200),
    ]
    assert {r["content_type"] for r in rows} == {"document"}


async def test_a_telegram_photos_caption_is_on_its_media_row(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant(provider=Provider.TELEGRAM, address="@hotel_bot")
    route = dataclasses.replace(
        make_route(Provider.TELEGRAM), tenant_id=tenant.tenant_id, channel_id=tenant.channel_id
    )
    [event] = telegram.parse_inbound(route, payloads.TELEGRAM_PHOTO)
    async with uow_factory(tenant.tenant_id) as uow:
        await intake.handle(event, uow)
        await uow.commit()
    [row] = await stored_media(uow_factory, tenant.tenant_id, event.provider_message_id)
    assert (row["url"], row["caption"], row["size_bytes"]) == (
        "telegram-file:AgAD-large",
        "The view",
        89012,
    )


@pytest.mark.parametrize("refused", ["nul \u0000 inside", "lone \ud800 surrogate"])
async def test_text_the_database_refuses_is_a_data_error_not_a_lost_connection(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant, refused: str
) -> None:
    # What an event that slipped past the parsers meets: the runner dead-letters data errors at
    # once. asyncpg refuses a lone surrogate itself, with an InterfaceError subclass that would
    # otherwise pass for a lost connection and be retried forever.
    tenant = await make_tenant()
    event = InboundMessageReceived(
        tenant_id=tenant.tenant_id,
        provider=Provider.GREEN_API,
        channel_id=tenant.channel_id,
        provider_event_id=f"refused-{uuid4()}",
        provider_message_id=f"refused-{uuid4()}",
        sender_handle="+34600777004",
        text=refused,
    )
    async with uow_factory(tenant.tenant_id) as uow:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - classified below
            await intake.handle(event, uow)
    assert is_data_error(caught.value)


async def test_other_database_failures_are_not_data_errors(
    uow_factory: UnitOfWorkFactory, make_tenant: MakeTenant
) -> None:
    tenant = await make_tenant()
    async with uow_factory(tenant.tenant_id) as uow:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - classified below
            await uow.session.execute(text("SELECT 1 FROM no_such_table"))
    assert not is_data_error(caught.value)
