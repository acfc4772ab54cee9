"""No secret reaches a log line: the whole pipeline runs with JSON logging at DEBUG, provider
tokens in the channels' send URLs, and a webhook that blows up inside the ingress while the
decrypted channel is in its frames; every rendered line is searched for the secrets."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import uuid4

import pytest
import structlog
import uvicorn

import workers.logging as frontdesk_logging
from domain.channels import ChannelRoute
from domain.events import Provider
from persistence.crypto import SecretCipher
from persistence.db import create_engine
from persistence.migrate import MigrationTarget
from persistence.repositories.channels import AlertTarget
from persistence.uow import UnitOfWorkFactory
from tests.conftest import MakeTenant, TenantFixture
from tests.pipeline import conftest as pipeline
from tests.pipeline.conftest import System, eventually, free_port
from workers.consumers import autoreply, escalation, intake, sentiment
from workers.consumers.tenant_context import TenantContexts
from workers.dispatch.main import run_dispatcher
from workers.ingress.server import build_app
from workers.runtime.runner import run_workers
from workers.runtime.topology import declare_for
from workers.settings import Settings
from workers.standin import create_app as create_stand_in
from workers.webhook_samples import SampleChannel

# Real shapes: a Telegram bot token, a Green API instance token, webhook secrets.
BOT_TOKEN = "7351824690:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"
GREEN_API_INSTANCE = "1101000001"
GREEN_API_TOKEN = "d75b3a66374942c5b3c019c698abc2067e151558acbd4126b4"
GREEN_API_WEBHOOK_TOKEN = f"green-webhook-{uuid4().hex}"
GUEST_SECRET_TEXT = f"my door code is {uuid4().hex}"
QUESTION = "What are your opening hours?"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Every line frontdesk's logging renders, JSON at DEBUG, as `frontdesk ingress`,
    `worker` and `dispatcher` configure it; the previous logging set-up is put back after."""
    root = logging.getLogger()
    saved_root = (root.handlers[:], root.level)
    names = (*UVICORN_LOGGERS, "httpx", "httpcore", "aio_pika", "aiormq", "hpack")
    saved = {name: logging.getLogger(name) for name in names}
    saved_state = {name: (lg.handlers[:], lg.level, lg.propagate) for name, lg in saved.items()}
    saved_structlog = structlog.get_config()
    # Tests run before may have installed uvicorn's own handlers; production passes
    # log_config=None so uvicorn logs through the root handler.
    for name in UVICORN_LOGGERS:
        saved[name].handlers.clear()
        saved[name].propagate = True
    frontdesk_logging._configured.clear()
    frontdesk_logging.configure_logging(Settings(log_json=True, log_level="DEBUG"))
    buffer = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    yield buffer
    frontdesk_logging._configured.clear()
    root.handlers[:], _ = saved_root
    root.setLevel(saved_root[1])
    for name, (handlers, level, propagate) in saved_state.items():
        saved[name].handlers[:] = handlers
        saved[name].setLevel(level)
        saved[name].propagate = propagate
    structlog.configure(**saved_structlog)


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """As `frontdesk ingress` runs it: uvicorn logging through the root handler."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(_started(server, task))
    return server, task


def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> Any:
    async def check() -> bool:
        if task.done():
            task.result()
        return bool(server.started)

    return check


@pytest.fixture
async def system(
    database: Settings, uow_factory: UnitOfWorkFactory, log_output: io.StringIO
) -> AsyncIterator[System]:
    stand_in_port, ingress_port = free_port(), free_port()
    settings = database.model_copy(
        update={
            "exchange": f"test.secrets.{uuid4().hex}",
            "public_base_url": f"http://127.0.0.1:{ingress_port}",
            "channel_cache_seconds": 0.5,
        }
    )
    stand_in = create_stand_in()
    servers = [
        await _serve(stand_in, stand_in_port),
        await _serve(build_app(settings), ingress_port),
    ]
    consumers = [
        intake.consumer(),
        sentiment.consumer(),
        autoreply.consumer(contexts=TenantContexts(ttl=0.0)),
        escalation.consumer(),
    ]
    await declare_for(
        settings.amqp_url, settings.exchange, [c.queues(settings.exchange) for c in consumers]
    )
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(run_workers(settings, consumers, stop=stop)),
        asyncio.create_task(run_dispatcher(settings, stop)),
    ]
    owner = create_engine(settings.migration_database_url, schema=settings.db_schema)
    import httpx

    async with httpx.AsyncClient(base_url=settings.public_base_url, timeout=10.0) as http:
        yield System(
            settings=settings,
            http=http,
            owner=owner,
            uow_factory=uow_factory,
            stand_in_sent=stand_in.state.sent,
            stand_in_url=f"http://127.0.0.1:{stand_in_port}",
            cipher=SecretCipher.from_settings(settings),
        )
    stop.set()
    await asyncio.gather(*tasks)
    for server, task in servers:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await owner.dispose()
    await pipeline._delete_topology(settings, consumers)


async def _answered(system: System, guest: pipeline.GuestChannel, provider: str) -> None:
    """A question the knowledge base answers, followed to the provider stand-in."""
    webhook = await guest.say(QUESTION)
    message = await system.decided(webhook)
    assert message["ai_decision"] == "reply", message["ai_decision_reason"]

    async def sent() -> list[dict[str, Any]]:
        return [
            entry
            for entry in system.sent_to_provider(provider)
            if "open Tuesday to Sunday" in str(entry["body"])
        ]

    await eventually(sent)


async def test_no_secret_reaches_a_log_line(
    system: System,
    make_tenant: MakeTenant,
    log_output: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipeline, "BOT_TOKEN", BOT_TOKEN)
    telegram = await system.tenant(make_tenant)

    async def green_api_tenant(**values: Any) -> TenantFixture:
        values.update(
            provider=Provider.GREEN_API,
            address="+34600000077",
            credentials={
                "api_url": f"{system.stand_in_url}/green-api",
                "id_instance": GREEN_API_INSTANCE,
                "api_token_instance": GREEN_API_TOKEN,
            },
            webhook_secret=GREEN_API_WEBHOOK_TOKEN,
        )
        return await make_tenant(**values)

    green = await system.tenant(green_api_tenant)
    green.channel = SampleChannel(
        tenant=0,
        provider="green_api",
        public_id=green.channel.public_id,
        webhook_secret=GREEN_API_WEBHOOK_TOKEN,
        address="+34600000077",
        provider_account=GREEN_API_INSTANCE,
    )
    await _answered(system, telegram, "telegram")
    await _answered(system, green, "green_api")

    # A webhook that fails inside the ingress with the decrypted channel in its frames.
    def broken_parser(route: ChannelRoute, payload: Any) -> Any:
        raise RuntimeError(f"parser broke on channel {route.public_id}")

    monkeypatch.setattr("workers.providers.telegram.parse_inbound", broken_parser)
    response = await telegram.post(telegram.webhook(GUEST_SECRET_TEXT))
    assert response.status_code == 500

    await eventually(_logged(log_output, "parser broke on channel"))
    lines = log_output.getvalue()
    secrets = {
        "Telegram bot token": BOT_TOKEN.split(":", 1)[1],
        "Telegram webhook secret": telegram.channel.webhook_secret,
        "Green API instance token": GREEN_API_TOKEN,
        "Green API webhook token": GREEN_API_WEBHOOK_TOKEN,
        "signing key": system.settings.signing_key.get_secret_value(),
        "encryption key": system.settings.encryption_keys[0].get_secret_value(),
        "guest payload in frame locals": GUEST_SECRET_TEXT,
    }
    leaked = [name for name, value in secrets.items() if value in lines]
    assert not leaked, f"in the logs: {leaked}"


@pytest.mark.parametrize("json_lines", [True, False], ids=["json", "console"])
def test_secret_shapes_are_masked_in_foreign_records_and_exception_text(
    log_output: io.StringIO, json_lines: bool
) -> None:
    frontdesk_logging.configure_logging(Settings(log_json=json_lines, log_level="DEBUG"))
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(log_output)
    green_url = (
        f"https://api.green-api.com/waInstance{GREEN_API_INSTANCE}/sendMessage/{GREEN_API_TOKEN}"
    )
    fernet_key = SecretCipher.generate_key()
    logging.getLogger("some.library").warning("POST %s", green_url)
    logging.getLogger("some.library").warning(
        "connecting to postgresql://app:db-password-1@db:5432/x?sslpassword=ssl-secret-2"
    )
    logging.getLogger("some.library").info(
        "key fdk_visible8api-key-secret-5 link https://x.test/ack/ack-secret-6 "
        "hash scrypt$16384$8$1$c2FsdA$hash-secret-7 jwt eyJhbGciOiJI.eyJzdWIi.jwt-secret-8"
    )
    try:
        raise ValueError(f"bad Authorization: Bearer bearer-secret-3 for bot{BOT_TOKEN}")
    except ValueError:
        frontdesk_logging.get_logger("frontdesk.test").exception(
            "send failed", key=fernet_key, webhook_secret="field-secret-4"
        )

    lines = log_output.getvalue()
    assert "send failed" in lines
    assert "waInstance" in lines
    for secret in (
        GREEN_API_TOKEN,
        BOT_TOKEN.split(":", 1)[1],
        "db-password-1",
        "ssl-secret-2",
        "bearer-secret-3",
        "field-secret-4",
        "api-key-secret-5",
        "ack-secret-6",
        "hash-secret-7",
        "jwt-secret-8",
        fernet_key,
    ):
        assert secret not in lines


def test_a_channel_route_shows_no_secret_in_its_repr() -> None:
    route = ChannelRoute(
        channel_id=uuid4(),
        public_id=uuid4(),
        tenant_id=uuid4(),
        property_id=uuid4(),
        provider=Provider.GREEN_API,
        enabled=True,
        address="+34600000077",
        credentials={"id_instance": GREEN_API_INSTANCE, "api_token_instance": GREEN_API_TOKEN},
        webhook_secret=GREEN_API_WEBHOOK_TOKEN,
    )
    for shown in (repr(route), str(route), f"{route}"):
        assert GREEN_API_TOKEN not in shown
        assert GREEN_API_WEBHOOK_TOKEN not in shown
        assert "api_token_instance" in shown
        assert GREEN_API_INSTANCE in shown


def test_alert_targets_and_migration_targets_show_no_secret_in_their_repr() -> None:
    target = AlertTarget(
        id=uuid4(),
        name="staff room",
        kind="webhook",
        channel_id=None,
        address=None,
        webhook_url="https://chat.example.test/hooks/alert-path-secret",
        urgent_only=False,
    )
    migration = MigrationTarget(
        schema="frontdesk", app_role="frontdesk_app", app_password="app-password-secret"
    )
    assert "alert-path-secret" not in repr(target)
    assert "staff room" in repr(target)
    assert "app-password-secret" not in repr(migration)
    assert "frontdesk_app" in repr(migration)


def _logged(output: io.StringIO, text: str) -> Any:
    async def check() -> bool:
        return text in output.getvalue()

    return check
