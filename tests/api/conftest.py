"""The management API in-process over HTTP (httpx ASGI transport) on the session's database.

- ``api_services``: the API's services on the test database (a test token key).
- ``api``: an ``httpx.AsyncClient`` on the app; 5xx come back as responses, not exceptions.
- ``make_staff``: ``await make_staff(tenant_id, roles=("agent",))`` -> ``Staff`` with a token.
- ``hotel``: a tenant (``make_tenant``) with an admin signed in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from persistence.repositories.access import AuditActor
from persistence.sign_in import SignInDirectory
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant, TenantFixture
from workers.api.app import create_app
from workers.api.commands.staff import add_user
from workers.api.services import Services, SignInPolicy
from workers.api.tokens import TokenIssuer
from workers.settings import Settings

TOKEN_KEY = SecretStr("tests-api-token-key-0123456789abcdef0123")
PASSWORD = "correct horse battery staple"
CLI = AuditActor(kind="system", label="tests")


def issuer(**overrides: object) -> TokenIssuer:
    options: dict[str, object] = {"access_seconds": 900, "refresh_seconds": 3600}
    options.update(overrides)
    keys = options.pop("keys", [TOKEN_KEY])
    return TokenIssuer(keys, **options)  # type: ignore[arg-type]


def build_services(
    database: Settings, uow_factory: UnitOfWorkFactory, **overrides: object
) -> Services:
    values: dict[str, object] = {
        "settings": database,
        "uow_factory": uow_factory,
        "directory": SignInDirectory(uow_factory.sessionmaker),
        "tokens": issuer(),
        # Generous per address: the whole session signs in from one test address.
        "sign_in_policy": SignInPolicy(address_allowance=10_000),
    }
    values.update(overrides)
    return Services(**values)  # type: ignore[arg-type]


def client_for(app: FastAPI, *, address: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://api.test")


@pytest.fixture(scope="session")
def api_services(database: Settings, uow_factory: UnitOfWorkFactory) -> Services:
    return build_services(database, uow_factory)


@pytest.fixture(scope="session")
def api_app(api_services: Services) -> FastAPI:
    return create_app(api_services)


@pytest.fixture
async def api(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(api_app) as client:
        yield client


@dataclass(frozen=True, slots=True)
class Staff:
    tenant_id: UUID
    user_id: UUID
    email: str
    roles: tuple[str, ...]
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


MakeStaff = Callable[..., Awaitable[Staff]]


async def sign_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    response = await client.post(
        "/api/v1/auth/token", data={"username": email, "password": password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def make_staff(uow_factory: UnitOfWorkFactory, api: httpx.AsyncClient) -> MakeStaff:
    async def make(tenant_id: UUID, roles: Sequence[str] = ("agent",)) -> Staff:
        email = f"staff-{uuid4().hex[:12]}@hotel.example"
        async with uow_factory(tenant_id) as uow:
            user = await add_user(
                uow,
                actor=CLI,
                email=email,
                full_name="Test Staff",
                roles=roles,
                password=PASSWORD,
            )
            await uow.commit()
        token = await sign_in(api, email)
        return Staff(tenant_id, user.id, email, tuple(roles), token)

    return make


@dataclass(frozen=True, slots=True)
class Hotel:
    tenant: TenantFixture
    admin: Staff


@pytest.fixture
async def hotel(make_tenant: MakeTenant, make_staff: MakeStaff) -> Hotel:
    tenant = await make_tenant()
    return Hotel(tenant=tenant, admin=await make_staff(tenant.tenant_id, roles=("admin",)))


@dataclass(frozen=True, slots=True)
class World:
    """A tenant with one object of every kind the API names by id, a user per role and an API
    key per role's worth of permissions; tokens are issued directly (no sign-in)."""

    tenant_id: UUID
    ids: dict[str, str]
    tokens: dict[str, str]
    permissions: dict[str, frozenset[str]]
    user_ids: dict[str, UUID]


ROLES = ("admin", "supervisor", "team_lead", "agent")
TELEGRAM_TOKEN = "123456789:AAH-world-test-bot-token-xyz"


async def build_world(uow_factory: UnitOfWorkFactory, *, provider_url: str | None = None) -> World:
    """The world; ``provider_url``: where its channel's provider API is played (a stand-in)."""
    from domain.events import Provider
    from persistence.models import (
        CannedResponse,
        Holiday,
        IntegrationCredential,
        RoutingRule,
        SlaPolicy,
        StaffAlertTarget,
        Team,
        WhatsAppTemplate,
    )
    from workers.api.commands.api_keys import create_api_key

    tenant_id = uuid4()
    tokens, permissions, user_ids = {}, {}, {}
    async with uow_factory(tenant_id) as uow:
        await uow.tenants.add(name="World", slug=f"world-{tenant_id.hex[:12]}", vertical="hotel")
        prop = await uow.properties.add(name="World Main", timezone="Europe/Madrid")
        await uow.properties.add_settings(property_id=prop.id)
        await uow.ai_settings.add()
        channel = await uow.channels.add(
            property_id=prop.id,
            provider=Provider.TELEGRAM,
            name="World bot",
            address="@world_bot",
            credentials={
                "bot_token": TELEGRAM_TOKEN,
                **({"api_base_url": provider_url} if provider_url else {}),
            },
            webhook_secret=f"world-secret-{tenant_id.hex}",
        )
        category_id = await uow.knowledge.upsert_category(slug="general", name="General")
        item_id = await uow.knowledge.upsert_item(
            category_id=category_id, key="wifi", question="Wi-Fi?", answer="Network: World."
        )
        await uow.prompts.add(body="You are the World concierge.")
        # Staff structure and messaging configuration (teams, templates, alerts, integrations).
        configuration = uow.configuration
        team = await configuration.add(Team, name="Front desk")
        rule = await configuration.add(RoutingRule, name="Bot to front desk", team_id=team.id)
        canned = await configuration.add(
            CannedResponse, shortcut="/wifi", title="Wi-Fi", body="Network: World."
        )
        cloud = await uow.channels.add(
            property_id=prop.id,
            provider=Provider.WHATSAPP_CLOUD,
            name="World WhatsApp",
            address="+34600000001",
            credentials={"phone_number_id": "1", "access_token": "t", "verify_token": "v"},
            webhook_secret="world-app-secret",
        )
        whatsapp_template = await configuration.add(
            WhatsAppTemplate,
            channel_id=cloud.id,
            name="arrival",
            language="en",
            category="utility",
            body="Welcome",
        )
        alert_target = await configuration.add(
            StaffAlertTarget,
            name="Ops webhook",
            kind="webhook",
            webhook_url_encrypted=configuration.seal("https://hooks.example/world"),
        )
        integration = await configuration.add(
            IntegrationCredential,
            integration_type="pms",
            credentials_encrypted=configuration.seal_json({"api_key": "world-pms-key"}),
        )
        sla_policy = await configuration.add(SlaPolicy, name="World SLA", first_response_minutes=30)
        holiday = await configuration.add(Holiday, day=date(2030, 12, 25), name="Christmas")
        for role in ROLES:
            user = await add_user(
                uow,
                actor=CLI,
                email=f"{role}@{tenant_id.hex[:8]}.example",
                full_name=role,
                roles=(role,),
                password=None,
            )
            user_ids[role] = user.id
            permissions[role] = await uow.access.permissions(user_id=user.id)
            tokens[role] = (
                issuer().issue(user_id=user.id, tenant_id=tenant_id, roles=[role]).access_token
            )
        target = await add_user(
            uow,
            actor=CLI,
            email="target@world.example",
            full_name="Target",
            roles=("agent",),
            password=None,
        )
        key = await create_api_key(
            uow, actor=CLI, name="world key", permissions=["audit.read"], grantable=None
        )
        # A stay with a scheduled message, and its template (reservations, schedule routes).
        guest = await uow.guests.upsert_by_identity(kind="telegram", handle="world-guest")
        stay = await uow.reservations.add(
            property_id=prop.id,
            guest_id=guest.id,
            check_in=date(2030, 1, 10),
            check_out=date(2030, 1, 12),
            external_ref="WORLD-1",
        )
        template = await uow.templates.add(channel="telegram", rule_key="T_MINUS_1", body="Hi")
        trigger = await uow.triggers.add(name="t-1", kind="time_based", template_id=template.id)
        scheduled = await uow.schedule.add(
            reservation_id=stay.id,
            trigger_id=trigger.id,
            template_id=template.id,
            rule_key="T_MINUS_1",
            due_at=datetime(2030, 1, 9, 9, tzinfo=UTC),
        )
        # A conversation with a guest message and a staff notification (the inbox routes).
        opened, _ = await uow.conversations.find_or_open(
            guest_id=guest.id, channel_id=channel.id, at=datetime.now(UTC)
        )
        said = await uow.inbound.add(
            conversation_id=opened.id, channel_id=channel.id, provider_message_id="world-1"
        )
        assert said is not None
        notification, _ = await uow.notifications.add(
            conversation_id=opened.id,
            message_id=said.id,
            type="human_requested",
            next_alert_at=datetime(2030, 1, 1, tzinfo=UTC),
        )
        # Tokens that must not work: a deactivated admin's, and an expired one.
        gone = await add_user(
            uow,
            actor=CLI,
            email="gone@world.example",
            full_name="Gone",
            roles=("admin",),
            password=None,
        )
        gone.active = False
        tokens["deactivated"] = (
            issuer().issue(user_id=gone.id, tenant_id=tenant_id, roles=["admin"]).access_token
        )
        past = datetime.now(UTC) - timedelta(hours=1)
        tokens["expired"] = (
            issuer(clock=lambda: past)
            .issue(user_id=user_ids["admin"], tenant_id=tenant_id, roles=["admin"])
            .access_token
        )
        await uow.commit()
    ids = {
        "property_id": str(prop.id),
        "channel_id": str(channel.id),
        "category_id": str(category_id),
        "item_id": str(item_id),
        "user_id": str(target.id),
        "key_id": str(key.row.id),
        "external_ref": "WORLD-1",
        "reservation_id": str(stay.id),
        "scheduled_message_id": str(scheduled.id),
        "template_id": str(template.id),
        "trigger_id": str(trigger.id),
        "version": "1",
        "conversation_id": str(opened.id),
        "notification_id": str(notification.id),
        "tag": "vip",
        "team_id": str(team.id),
        "rule_id": str(rule.id),
        "canned_id": str(canned.id),
        "whatsapp_template_id": str(whatsapp_template.id),
        "target_id": str(alert_target.id),
        "integration_id": str(integration.id),
        "sla_policy_id": str(sla_policy.id),
        "holiday_id": str(holiday.id),
    }
    return World(tenant_id, ids, tokens, permissions, user_ids)
