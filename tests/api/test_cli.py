"""Onboarding a hotel from nothing with the CLI, then using the API as its admin and its key."""

from __future__ import annotations

import os
import subprocess
import sys
from uuid import uuid4

import httpx

from tests.api.conftest import sign_in
from workers.settings import Settings

ADMIN_PASSWORD = "first admin passphrase"


def frontdesk(database: Settings, *args: str, **env: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "workers", *args],
        env={
            **os.environ,
            "FRONTDESK_DATABASE_URL": database.database_url,
            "FRONTDESK_MIGRATION_DATABASE_URL": database.migration_database_url,
            "FRONTDESK_LOG_JSON": "false",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


async def test_tenant_create_then_sign_in_and_an_api_key(
    database: Settings, api: httpx.AsyncClient
) -> None:
    slug = f"hotel-{uuid4().hex[:10]}"
    email = f"admin@{slug}.example"
    created = frontdesk(
        database,
        "tenant",
        "create",
        "Hotel Näme",
        "--admin-email",
        email,
        "--slug",
        slug,
        "--timezone",
        "Europe/Rome",
        FRONTDESK_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    tenant_id = created[-1]
    token = await sign_in(api, email, ADMIN_PASSWORD)
    me = (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).json()
    assert me["tenant"] == {"id": tenant_id, "slug": slug, "name": "Hotel Näme"}
    assert me["roles"] == ["admin"]
    properties = await api.get("/api/v1/properties", headers={"Authorization": f"Bearer {token}"})
    assert [(p["name"], p["timezone"]) for p in properties.json()] == [
        ("Hotel Näme", "Europe/Rome")
    ]

    key = frontdesk(
        database,
        "apikey",
        "create",
        "--tenant",
        tenant_id,
        "--name",
        "PMS",
        "--permission",
        "audit.read",
    )[-1]
    audit = await api.get("/api/v1/audit", headers={"Authorization": f"Bearer {key}"})
    assert audit.status_code == 200
    assert {(a["resource"], a["actor_type"]) for a in audit.json()} >= {
        ("tenant", "system"),
        ("user", "system"),
        ("api_key", "system"),
    }
    assert key not in audit.text
    assert ADMIN_PASSWORD not in audit.text


def test_a_short_admin_password_is_refused(database: Settings) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workers",
            "tenant",
            "create",
            "Tiny",
            "--admin-email",
            "a@tiny.example",
            "--slug",
            f"tiny-{uuid4().hex[:8]}",
        ],
        env={
            **os.environ,
            "FRONTDESK_DATABASE_URL": database.database_url,
            "FRONTDESK_ADMIN_PASSWORD": "short",
        },
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "12" in result.stderr


async def test_user_add_invite_prints_a_token_the_user_sets_a_password_with(
    database: Settings, api: httpx.AsyncClient
) -> None:
    slug = f"inn-{uuid4().hex[:10]}"
    tenant_id = frontdesk(
        database,
        "tenant",
        "create",
        "Inn",
        "--admin-email",
        f"boss@{slug}.example",
        "--slug",
        slug,
        FRONTDESK_ADMIN_PASSWORD=ADMIN_PASSWORD,
    )[-1]
    email = f"desk@{slug}.example"
    token = frontdesk(
        database,
        "user",
        "add",
        "--tenant",
        tenant_id,
        "--email",
        email,
        "--name",
        "Desk",
        "--role",
        "agent",
        "--role",
        "team_lead",
        "--invite",
    )[-1]
    done = await api.post(
        "/api/v1/auth/set-password", json={"token": token, "password": "the desk's passphrase"}
    )
    assert done.status_code == 204, done.text
    signed_in = await sign_in(api, email, "the desk's passphrase")
    me = (await api.get("/api/v1/me", headers={"Authorization": f"Bearer {signed_in}"})).json()
    assert me["roles"] == ["agent", "team_lead"]
