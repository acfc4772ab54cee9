"""Secrets go in and never come out: channel credentials, webhook secrets, API keys, passwords
and set-password tokens appear in no later response and in no audit row."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import text

from persistence.db import create_engine
from tests.api.conftest import Hotel, sign_in
from workers.settings import Settings

TWILIO_TOKEN = "twilio-auth-token-0f9e8d7c6b5a"
META_ACCESS = "EAAG-meta-access-token-5e4d3c2b1a"
META_VERIFY = "meta-verify-token-77aa88bb"
META_APP_SECRET = "meta-app-secret-1234abcd5678"
SMTP_PASSWORD = "smtp-password-9z8y7x6w"
NEW_PASSWORD = "a brand new passphrase 42"


async def audit_rows(database: Settings, tenant_id: object) -> str:
    """The tenant's audit rows as the owner reads them (no row-level security)."""
    engine = create_engine(database.migration_database_url, schema=database.db_schema)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT to_jsonb(a) FROM config_audit a WHERE tenant_id = :t"),
                {"t": tenant_id},
            )
            return json.dumps([row[0] for row in rows])
    finally:
        await engine.dispose()


async def test_no_response_or_audit_row_carries_a_secret(
    api: httpx.AsyncClient, hotel: Hotel, database: Settings
) -> None:
    headers = hotel.admin.headers
    property_id = str(hotel.tenant.property_id)
    shown_once: list[str] = []
    later: list[httpx.Response] = []

    async def create(body: dict[str, object]) -> dict[str, object]:
        response = await api.post("/api/v1/channels", json=body, headers=headers)
        assert response.status_code == 201, response.text
        created: dict[str, object] = response.json()
        if created.get("webhook_secret"):
            shown_once.append(str(created["webhook_secret"]))
        return created

    twilio = await create(
        {
            "provider": "twilio_sms",
            "property_id": property_id,
            "name": "SMS",
            "address": "+14155550100",
            "credentials": {"account_sid": "AC" + "0" * 32, "auth_token": TWILIO_TOKEN},
        }
    )
    await create(
        {
            "provider": "whatsapp_cloud",
            "property_id": property_id,
            "name": "WhatsApp",
            "address": "+14155550101",
            "credentials": {
                "phone_number_id": "1098765",
                "access_token": META_ACCESS,
                "verify_token": META_VERIFY,
            },
            "webhook_secret": META_APP_SECRET,
        }
    )
    await create(
        {
            "provider": "email",
            "property_id": property_id,
            "name": "Mailbox",
            "address": "stay@hotel.example",
            "credentials": {
                "from_address": "stay@hotel.example",
                "smtp_host": "smtp.hotel.example",
                "smtp_password": SMTP_PASSWORD,
            },
            "webhook_secret": "mailgun-signing-key-55aa",
        }
    )
    telegram = await create(
        {
            "provider": "telegram",
            "property_id": property_id,
            "name": "Bot",
            "address": "@hotel_bot",
            "credentials": {"bot_token": "987654321:AAF-secret-telegram-token"},
        }
    )
    assert shown_once  # the generated Telegram secret, once
    assert twilio["credentials_hint"] == {"account_sid": "…0000", "auth_token": "…6b5a"}
    rotated = await api.post(
        f"/api/v1/channels/{telegram['id']}/webhook-secret", json={}, headers=headers
    )
    assert rotated.status_code == 200, rotated.text
    shown_once.append(rotated.json()["webhook_secret"])
    refused = await api.post(
        f"/api/v1/channels/{twilio['id']}/webhook-secret", json={}, headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "webhook_secret"

    key = await api.post(
        "/api/v1/api-keys", json={"name": "PMS", "permissions": ["audit.read"]}, headers=headers
    )
    assert key.status_code == 201, key.text
    api_key = key.json()["key"]
    assert api_key.startswith(key.json()["prefix"])
    with_key = await api.get("/api/v1/audit", headers={"Authorization": f"Bearer {api_key}"})
    assert with_key.status_code == 200
    later.append(with_key)

    invited = await api.post(
        "/api/v1/users/invitations",
        json={"email": "New.Hire@Hotel.example", "full_name": "New Hire", "roles": ["agent"]},
        headers=headers,
    )
    assert invited.status_code == 201, invited.text
    token = invited.json()["token"]
    short = await api.post("/api/v1/auth/set-password", json={"token": token, "password": "short"})
    assert short.status_code == 422
    assert short.json()["errors"][0]["field"] == "password"
    assert "short" not in short.text.replace("too_short", "")
    done = await api.post(
        "/api/v1/auth/set-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    reused = await api.post(
        "/api/v1/auth/set-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert reused.status_code == 422
    assert await sign_in(api, "new.hire@hotel.example", NEW_PASSWORD)

    for path in ("/api/v1/channels", "/api/v1/api-keys", "/api/v1/users", "/api/v1/audit"):
        response = await api.get(path, headers=headers)
        assert response.status_code == 200, response.text
        later.append(response)
    for channel in (twilio, telegram):
        later.append(await api.get(f"/api/v1/channels/{channel['id']}", headers=headers))

    secrets = [
        TWILIO_TOKEN,
        META_ACCESS,
        META_VERIFY,
        META_APP_SECRET,
        SMTP_PASSWORD,
        "mailgun-signing-key-55aa",
        "AAF-secret-telegram-token",
        api_key,
        token,
        NEW_PASSWORD,
        *shown_once,
    ]
    stored = await audit_rows(database, hotel.tenant.tenant_id)
    assert "channel" in stored
    assert "api_key" in stored
    for secret in secrets:
        for response in later:
            assert secret not in response.text, (secret, response.request.url)
        assert secret not in stored, secret
    revoked = await api.delete(f"/api/v1/api-keys/{key.json()['id']}", headers=headers)
    assert revoked.status_code == 204
    gone = await api.get("/api/v1/audit", headers={"Authorization": f"Bearer {api_key}"})
    assert gone.status_code == 401
    listed = (await api.get("/api/v1/api-keys", headers=headers)).json()
    mine = next(k for k in listed if k["id"] == key.json()["id"])
    assert mine["last_used_at"] is not None
    assert mine["revoked_at"] is not None


async def test_an_api_key_grants_no_more_than_its_creator_holds(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    created = await api.post(
        "/api/v1/api-keys",
        json={"name": "key maker", "permissions": ["apikeys.manage"]},
        headers=hotel.admin.headers,
    )
    assert created.status_code == 201
    key_headers = {"Authorization": f"Bearer {created.json()['key']}"}
    wider = await api.post(
        "/api/v1/api-keys",
        json={"name": "wider", "permissions": ["audit.read"]},
        headers=key_headers,
    )
    assert wider.status_code == 422, wider.text
    assert wider.json()["errors"][0]["field"] == "permissions"
    unknown = await api.post(
        "/api/v1/api-keys",
        json={"name": "x", "permissions": ["nothing.such"]},
        headers=hotel.admin.headers,
    )
    assert unknown.status_code == 422
    same = await api.post(
        "/api/v1/api-keys",
        json={"name": "same", "permissions": ["apikeys.manage"]},
        headers=key_headers,
    )
    assert same.status_code == 201
