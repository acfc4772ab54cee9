"""Signing in: tokens, refresh, the same answer for every wrong guess, throttling, rotation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import text

from persistence.uow import UnitOfWorkFactory
from tests.api.conftest import (
    CLI,
    PASSWORD,
    TOKEN_KEY,
    Hotel,
    MakeStaff,
    build_services,
    client_for,
    issuer,
    sign_in,
)
from tests.conftest import MakeTenant
from workers.api.app import create_app
from workers.api.commands.staff import set_active
from workers.api.services import SignInPolicy
from workers.settings import Settings

TOKEN = "/api/v1/auth/token"


async def test_sign_in_returns_a_bearer_token_naming_user_tenant_and_roles(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    response = await api.post(TOKEN, data={"username": hotel.admin.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    claims = issuer().verify(body["access_token"], kind="access")
    assert (claims.user_id, claims.tenant_id, claims.roles) == (
        hotel.admin.user_id,
        hotel.tenant.tenant_id,
        ("admin",),
    )
    me = await api.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == hotel.admin.email
    assert "apikeys.manage" in me.json()["permissions"]

    refreshed = await api.post(
        "/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    # An access token is no refresh token.
    wrong = await api.post("/api/v1/auth/refresh", json={"refresh_token": body["access_token"]})
    assert wrong.status_code == 401


async def test_unknown_email_and_wrong_password_get_the_same_answer(
    api: httpx.AsyncClient, hotel: Hotel
) -> None:
    unknown = await api.post(
        TOKEN, data={"username": f"nobody-{uuid4().hex}@x.example", "password": PASSWORD}
    )
    wrong = await api.post(TOKEN, data={"username": hotel.admin.email, "password": "wrong" * 3})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.headers["content-type"] == "application/problem+json"
    assert unknown.json() == wrong.json()


async def test_a_deactivated_user_can_neither_sign_in_nor_use_a_token(
    api: httpx.AsyncClient, hotel: Hotel, uow_factory: UnitOfWorkFactory
) -> None:
    async with uow_factory(hotel.tenant.tenant_id) as uow:
        await set_active(uow, actor=CLI, user_id=hotel.admin.user_id, active=False)
        await uow.commit()
    assert (await api.get("/api/v1/me", headers=hotel.admin.headers)).status_code == 401
    response = await api.post(TOKEN, data={"username": hotel.admin.email, "password": PASSWORD})
    assert response.status_code == 401


async def test_the_same_email_in_two_tenants_needs_the_tenant_only_when_both_passwords_match(
    api: httpx.AsyncClient,
    make_tenant: MakeTenant,
    make_staff: MakeStaff,
    uow_factory: UnitOfWorkFactory,
) -> None:
    first, second = await make_tenant(), await make_tenant()
    staff = await make_staff(first.tenant_id, roles=("agent",))
    async with uow_factory(second.tenant_id) as uow:
        from workers.api.commands.staff import add_user

        await add_user(
            uow,
            actor=CLI,
            email=staff.email,
            full_name="Twin",
            roles=("admin",),
            password=PASSWORD,
        )
        await uow.commit()
    ambiguous = await api.post(TOKEN, data={"username": staff.email, "password": PASSWORD})
    assert ambiguous.status_code == 422
    assert ambiguous.json()["errors"][0]["field"] == "tenant"
    chosen = await api.post(
        TOKEN, data={"username": staff.email, "password": PASSWORD, "tenant": second.slug}
    )
    assert chosen.status_code == 200, chosen.text
    assert issuer().verify(chosen.json()["access_token"], kind="access").tenant_id == (
        second.tenant_id
    )


async def test_failed_sign_ins_back_off_per_account_and_are_recorded(
    database: Settings, uow_factory: UnitOfWorkFactory, hotel: Hotel
) -> None:
    services = build_services(
        database, uow_factory, sign_in_policy=SignInPolicy(account_allowance=3)
    )
    address = f"10.{uuid4().int % 250}.{uuid4().int % 250}.7"
    async with client_for(create_app(services), address=address) as client:
        for _ in range(3):
            response = await client.post(
                TOKEN, data={"username": hotel.admin.email, "password": "not the password"}
            )
            assert response.status_code == 401
        throttled = await client.post(
            TOKEN, data={"username": hotel.admin.email, "password": PASSWORD}
        )
        assert throttled.status_code == 429, throttled.text
        assert int(throttled.headers["retry-after"]) >= 1
    async with uow_factory.sessionmaker() as session:
        outcomes = (
            await session.execute(
                text(
                    "SELECT outcome, count(*) FROM sign_in_attempts WHERE client_address = :a"
                    " GROUP BY outcome"
                ),
                {"a": address},
            )
        ).all()
    assert dict(outcomes) == {"failed": 3, "throttled": 1}


async def test_tokens_signed_with_an_older_key_still_verify_after_rotation(
    database: Settings, uow_factory: UnitOfWorkFactory, hotel: Hotel
) -> None:
    newer = SecretStr("tests-api-token-key-newer-0123456789abcdef")
    rotated = build_services(database, uow_factory, tokens=issuer(keys=[newer, TOKEN_KEY]))
    async with client_for(create_app(rotated)) as client:
        assert (await client.get("/api/v1/me", headers=hotel.admin.headers)).status_code == 200
        fresh = await sign_in(client, hotel.admin.email)
    assert issuer(keys=[newer]).verify(fresh, kind="access").user_id == hotel.admin.user_id


async def test_expired_forged_and_missing_tokens_are_401(
    api: httpx.AsyncClient, api_app: FastAPI, hotel: Hotel
) -> None:
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = issuer(clock=lambda: past).issue(
        user_id=hotel.admin.user_id, tenant_id=hotel.tenant.tenant_id, roles=["admin"]
    )
    forged = issuer(keys=[SecretStr("not-the-key-0123456789abcdef0123456789")]).issue(
        user_id=hotel.admin.user_id, tenant_id=hotel.tenant.tenant_id, roles=["admin"]
    )
    for headers in (
        {},
        {"Authorization": f"Bearer {expired.access_token}"},
        {"Authorization": f"Bearer {forged.access_token}"},
        {"Authorization": "Bearer fdk_not-a-real-key"},
        {"Authorization": "Bearer garbage"},
    ):
        response = await api.get("/api/v1/me", headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.headers["content-type"] == "application/problem+json"


async def test_an_unreachable_database_is_503_not_500(database: Settings, hotel: Hotel) -> None:
    from sqlalchemy.engine import make_url

    from persistence.db import create_engine, create_sessionmaker

    missing = make_url(database.database_url).set(database=f"missing_{uuid4().hex[:8]}")
    engine = create_engine(missing.render_as_string(hide_password=False), schema="frontdesk")
    factory = UnitOfWorkFactory(create_sessionmaker(engine), connect_attempts=1)
    try:
        services = build_services(database, factory)
        async with client_for(create_app(services)) as client:
            me = await client.get("/api/v1/me", headers=hotel.admin.headers)
            token = await client.post(TOKEN, data={"username": "a@b.example", "password": "x"})
    finally:
        await factory.dispose()
    for response in (me, token):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert response.headers["content-type"] == "application/problem+json"


async def test_the_demo_admins_sign_in_with_the_printed_password() -> None:
    """In a database of its own: the session's is left to the seed's own tests."""
    from persistence.demo.tenants import DEMO_TENANTS
    from persistence.migrate import upgrade_async
    from persistence.seed import DEMO_PASSWORD, seed_demo
    from tests.conftest import create_database, database_settings, drop_database
    from workers.admin_cli import management_api_lines

    name = f"frontdesk_test_{uuid4().hex[:16]}"
    await create_database(name)
    settings = database_settings(name)
    factory = UnitOfWorkFactory.from_settings(settings)
    try:
        await upgrade_async(settings)
        assert factory.cipher is not None
        await seed_demo(factory, cipher=factory.cipher)
        printed = management_api_lines(settings, {demo.slug for demo in DEMO_TENANTS})
        assert len(printed) == 1 + len(DEMO_TENANTS)
        async with client_for(create_app(build_services(settings, factory))) as client:
            for line in printed[1:]:
                email, password = line.split("sign in as ")[1].split(" / ")
                assert password == DEMO_PASSWORD
                token = await sign_in(client, email, password)
                me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
                assert "admin" in me.json()["roles"]
    finally:
        await factory.dispose()
        await drop_database(name)
