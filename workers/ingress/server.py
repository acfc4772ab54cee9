"""Running the ingress under uvicorn, wired to the channel directory and the broker."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import structlog
import uvicorn
from fastapi import FastAPI

from workers.channel_cache import follow_changes
from workers.heap import freeze_startup_objects
from workers.ingress.ack import stored_acknowledgements
from workers.ingress.app import create_app
from workers.runtime.publisher import Publisher
from workers.settings import Settings

log = structlog.get_logger(__name__)


def build_app(settings: Settings) -> FastAPI:
    """The production app: database-backed channel lookups, a confirmed publisher."""
    # Imported here so the ingress package does not need the persistence layer to be tested.
    from persistence.directory import ChannelDirectory
    from persistence.uow import UnitOfWorkFactory

    directory = ChannelDirectory.from_settings(settings)
    # Reads the acknowledgement page's state, as the link's tenant.
    uow_factory = UnitOfWorkFactory.from_settings(settings.model_copy(update={"db_pool_size": 2}))
    publisher = Publisher.from_settings(settings)

    async def database_ready() -> bool:
        await directory.lookup(UUID(int=0))
        return True

    async def broker_ready() -> bool:
        await publisher.connect()
        return publisher.connected

    app = create_app(
        settings=settings,
        channels=directory,
        publisher=publisher,
        readiness_checks={"database": database_ready, "broker": broker_ready},
        acknowledgements=stored_acknowledgements(uow_factory),
        integrations=directory.integration,
    )

    # A channel changed through the API or the CLI is forgotten as the change commits.
    changes = follow_changes(app.state.channel_cache, settings.database_url)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await publisher.connect()
        except Exception as exc:  # the first webhook retries; /readyz says why until then
            log.warning("broker not reachable at start-up", error=repr(exc))
        await changes.start()
        try:
            yield
        finally:
            await changes.close()
            await publisher.close()
            await directory.close()
            await uow_factory.dispose()

    app.router.lifespan_context = lifespan
    return app


def server_config(app: FastAPI, settings: Settings, **options: Any) -> uvicorn.Config:
    """How uvicorn serves the ingress: bounded connections, keep-alive and header time."""
    http: type[asyncio.Protocol] | str = "h11"
    if importlib.util.find_spec("httptools"):
        from workers.ingress.limits import header_deadline_protocol

        http = header_deadline_protocol(settings.ingress_header_timeout_seconds)
    return uvicorn.Config(
        app,
        host=settings.ingress_host,
        port=settings.ingress_port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http=http,
        limit_concurrency=settings.ingress_max_connections,
        timeout_keep_alive=max(1, round(settings.ingress_keep_alive_seconds)),
        # Only h11 reads it: headers larger than this are refused (httptools has its own cap).
        h11_max_incomplete_event_size=16 * 1024,
        proxy_headers=True,
        access_log=False,
        log_config=None,
        **options,
    )


def run(settings: Settings) -> None:
    """Serve the ingress until interrupted."""
    app = build_app(settings)
    freeze_startup_objects()
    uvicorn.Server(server_config(app, settings)).run()
