"""Replies staff make outside frontdesk: typed on the phone linked to Green API (the provider's
``outgoingMessageReceived``) or in the WhatsApp Business app of a Cloud API number
(``smb_message_echoes``), each becomes one stored staff message however often it is posted,
cancels the drafted auto-reply and answers the conversation; frontdesk's own send, echoed as
``outgoingAPIMessageReceived``, is not stored twice. Real ingress, RabbitMQ, intake, dispatcher
and provider stand-in."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from domain.events import Provider
from tests.api.conftest import MakeStaff
from tests.conftest import MakeTenant, TenantFixture
from tests.pipeline.conftest import System, eventually
from workers.consumers.intake import OUTGOING

INSTANCE = 1101000777
BUSINESS = "34600000777"


def counted(outcome: str, provider: str = "green_api") -> Callable[[], float]:
    sample = OUTGOING.labels(provider, outcome)
    return lambda: float(sample._value.get())


def webhook(kind: str, guest_phone: str, id_message: str, text: str, sender: str) -> dict[str, Any]:
    return {
        "typeWebhook": kind,
        "instanceData": {
            "idInstance": INSTANCE,
            "wid": f"{BUSINESS}@c.us",
            "typeInstance": "whatsapp",
        },
        "timestamp": int(time.time()),
        "idMessage": id_message,
        "senderData": {
            "chatId": f"{guest_phone}@c.us",
            "chatName": "Guest",
            "sender": f"{sender}@c.us",
            "senderName": "Guest",
        },
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": text}},
    }


async def green_api_hotel(system: System, make_tenant: MakeTenant) -> TenantFixture:
    return await make_tenant(
        provider=Provider.GREEN_API,
        address=f"+{BUSINESS}",
        credentials={
            "id_instance": str(INSTANCE),
            "api_token_instance": "standin-token",
            "api_url": f"{system.stand_in_url}/green-api",
        },
        webhook_secret=f"secret-{uuid4().hex}",
    )


async def post(system: System, hotel: TenantFixture, payload: dict[str, Any]) -> None:
    response = await system.http.post(
        f"/webhooks/green-api/{hotel.public_id}",
        json=payload,
        headers={"Authorization": f"Bearer {hotel.webhook_secret}"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1}


async def guest_writes(system: System, hotel: TenantFixture, phone: str) -> dict[str, Any]:
    id_message = f"IN{uuid4().hex[:18].upper()}"
    await post(system, hotel, webhook("incomingMessageReceived", phone, id_message, "Hola!", phone))

    async def stored() -> list[dict[str, Any]]:
        return await system.rows(
            "SELECT * FROM messages WHERE provider_message_id = :p", p=id_message
        )

    [message] = await eventually(stored)
    return message


async def test_a_reply_typed_on_the_phone_cancels_the_draft_and_is_stored_once(
    system: System, make_tenant: MakeTenant
) -> None:
    hotel = await green_api_hotel(system, make_tenant)
    phone = f"3461{uuid4().int % 10**7:07d}"
    message = await guest_writes(system, hotel, phone)
    conversation_id: UUID = message["conversation_id"]
    async with system.uow_factory(hotel.tenant_id) as uow:  # the assistant's reply, waiting
        draft = await uow.outbound.draft(
            conversation_id=conversation_id,
            channel_id=hotel.channel_id,
            content="Hello! How can I help?",
            send_after=datetime.now(UTC) + timedelta(minutes=5),
            in_reply_to_id=message["id"],
        )
        await uow.commit()
    duplicates, stored = counted("duplicate"), counted("stored")
    duplicates_before, stored_before = duplicates(), stored()
    typed = webhook(
        "outgoingMessageReceived",
        phone,
        "3EB0TYPED" + uuid4().hex[:8],
        "Hi, it's Marta from reception",
        BUSINESS,
    )
    for _ in range(3):
        await post(system, hotel, typed)

    await eventually(lambda: _at_least(duplicates, duplicates_before + 2))
    assert stored() == stored_before + 1
    staff = await system.rows(
        "SELECT * FROM messages WHERE conversation_id = :c AND sender_type = 'staff'",
        c=conversation_id,
    )
    assert len(staff) == 1
    assert staff[0]["provider_message_id"] == typed["idMessage"]
    assert (staff[0]["direction"], staff[0]["status"]) == ("outbound", "sent")
    assert staff[0]["content"] == "Hi, it's Marta from reception"
    [cancelled] = await system.rows("SELECT * FROM messages WHERE id = :m", m=draft.id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["error"] == "staff replied outside frontdesk (phone)"
    [conversation] = await system.rows(
        "SELECT first_response_at FROM conversations WHERE id = :c", c=conversation_id
    )
    assert conversation["first_response_at"] is not None
    assert not [e for e in system.sent_to_provider("green_api") if "How can I help" in str(e)]


async def _at_least(read: Callable[[], float], value: float) -> bool:
    return read() >= value


async def test_frontdesk_s_own_send_echoed_back_is_not_stored_twice(
    system: System, make_tenant: MakeTenant, make_staff: MakeStaff, api: httpx.AsyncClient
) -> None:
    hotel = await green_api_hotel(system, make_tenant)
    phone = f"3462{uuid4().int % 10**7:07d}"
    message = await guest_writes(system, hotel, phone)
    admin = await make_staff(hotel.tenant_id, roles=("admin",))
    reply = await api.post(
        f"/api/v1/conversations/{message['conversation_id']}/messages",
        headers=admin.headers,
        json={"text": "Your room is ready."},
    )
    assert reply.status_code == 201, reply.text

    async def sent() -> list[dict[str, Any]]:
        rows = await system.rows("SELECT * FROM messages WHERE id = :m", m=reply.json()["id"])
        return rows if rows[0]["status"] == "sent" else []

    [row] = await eventually(sent)
    own = counted("own")
    before = own()
    echo = webhook(
        "outgoingAPIMessageReceived",
        phone,
        row["provider_message_id"],
        "Your room is ready.",
        BUSINESS,
    )
    await post(system, hotel, echo)
    await eventually(lambda: _at_least(own, before + 1))
    staff = await system.rows(
        "SELECT id FROM messages WHERE conversation_id = :c AND sender_type = 'staff'",
        c=message["conversation_id"],
    )
    assert [r["id"] for r in staff] == [row["id"]]


async def test_a_staff_alert_sent_through_the_channel_is_no_guest_conversation(
    system: System, make_tenant: MakeTenant
) -> None:
    hotel = await green_api_hotel(system, make_tenant)
    staff_phone = f"3469{uuid4().int % 10**7:07d}"
    async with system.uow_factory(hotel.tenant_id) as uow:
        await uow.alert_targets.add_channel_target(
            name="night manager", channel_id=hotel.channel_id, address=f"+{staff_phone}"
        )
        await uow.commit()
    own = counted("own")
    before = own()
    alert = webhook(
        "outgoingAPIMessageReceived",
        staff_phone,
        "BAE5ALERT" + uuid4().hex[:8].upper(),
        "Needs staff: Alex wrote …",
        BUSINESS,
    )
    await post(system, hotel, alert)
    await eventually(lambda: _at_least(own, before + 1))
    guests = await system.rows(
        "SELECT g.id FROM guest_identities g WHERE g.tenant_id = :t AND g.handle = :h",
        t=hotel.tenant_id,
        h=f"+{staff_phone}",
    )
    assert guests == []


async def test_a_reply_typed_in_the_whatsapp_business_app_is_stored_once_and_cancels_the_draft(
    system: System, make_tenant: MakeTenant
) -> None:
    business, phone_number_id = "34600000888", str(10**14 + uuid4().int % 10**14)
    hotel = await make_tenant(
        provider=Provider.WHATSAPP_CLOUD,
        address=f"+{business}",
        credentials={
            "phone_number_id": phone_number_id,
            "access_token": "standin-token",
            "api_base_url": f"{system.stand_in_url}/whatsapp",
        },
        webhook_secret=f"secret-{uuid4().hex}",
    )
    guest = f"3463{uuid4().int % 10**7:07d}"
    metadata = {"display_phone_number": business, "phone_number_id": phone_number_id}

    async def post_meta(field: str, value: dict[str, Any]) -> None:
        body = json.dumps(
            {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "102290129340398",
                        "changes": [
                            {
                                "field": field,
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": metadata,
                                    **value,
                                },
                            }
                        ],
                    }
                ],
            }
        ).encode()
        key = (hotel.webhook_secret or "").encode()
        signature = "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()
        response = await system.http.post(
            f"/webhooks/whatsapp/{hotel.public_id}",
            content=body,
            headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text

    wamid_in = f"wamid.IN{uuid4().hex.upper()}"
    await post_meta(
        "messages",
        {
            "contacts": [{"profile": {"name": "Guest"}, "wa_id": guest}],
            "messages": [
                {
                    "from": guest,
                    "id": wamid_in,
                    "timestamp": str(int(time.time())),
                    "type": "text",
                    "text": {"body": "Hola!"},
                }
            ],
        },
    )

    async def inbound() -> list[dict[str, Any]]:
        return await system.rows(
            "SELECT * FROM messages WHERE provider_message_id = :p", p=wamid_in
        )

    [message] = await eventually(inbound)
    conversation_id: UUID = message["conversation_id"]
    async with system.uow_factory(hotel.tenant_id) as uow:
        draft = await uow.outbound.draft(
            conversation_id=conversation_id,
            channel_id=hotel.channel_id,
            content="Hello! How can I help?",
            send_after=datetime.now(UTC) + timedelta(minutes=5),
            in_reply_to_id=message["id"],
        )
        await uow.commit()
    wamid_echo = f"wamid.ECHO{uuid4().hex.upper()}"
    echo = {
        "message_echoes": [
            {
                "from": business,
                "to": guest,
                "id": wamid_echo,
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": "Hi, it's Marta from reception"},
            }
        ]
    }
    duplicates, stored = counted("duplicate", "whatsapp_cloud"), counted("stored", "whatsapp_cloud")
    duplicates_before, stored_before = duplicates(), stored()
    for _ in range(3):
        await post_meta("smb_message_echoes", echo)
    await eventually(lambda: _at_least(duplicates, duplicates_before + 2))
    assert stored() == stored_before + 1

    async def staff_rows() -> list[dict[str, Any]]:
        return await system.rows(
            "SELECT * FROM messages WHERE conversation_id = :c AND sender_type = 'staff'",
            c=conversation_id,
        )

    [staff] = await eventually(staff_rows)
    assert staff["provider_message_id"] == wamid_echo
    assert (staff["direction"], staff["status"]) == ("outbound", "sent")
    assert staff["content"] == "Hi, it's Marta from reception"
    [cancelled] = await system.rows("SELECT * FROM messages WHERE id = :m", m=draft.id)
    assert cancelled["status"] == "cancelled"
    assert cancelled["error"] == "staff replied outside frontdesk (phone)"
    [conversation] = await system.rows(
        "SELECT first_response_at FROM conversations WHERE id = :c", c=conversation_id
    )
    assert conversation["first_response_at"] is not None
    assert not [e for e in system.sent_to_provider("whatsapp_cloud") if "How can I help" in str(e)]
