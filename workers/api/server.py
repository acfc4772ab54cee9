"""Running the management API under uvicorn (`frontdesk api`)."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from domain.semantic import configure_shared_embedder
from persistence.sign_in import SignInDirectory
from persistence.uow import UnitOfWorkFactory
from workers.api.app import create_app
from workers.api.services import Services
from workers.api.tokens import TokenIssuer
from workers.runtime.publisher import Publisher
from workers.settings import Settings


def build_services(settings: Settings, uow_factory: UnitOfWorkFactory) -> Services:
    return Services(
        settings=settings,
        uow_factory=uow_factory,
        directory=SignInDirectory(uow_factory.sessionmaker),
        tokens=TokenIssuer(
            settings.api_token_keys,
            access_seconds=settings.api_access_token_seconds,
            refresh_seconds=settings.api_refresh_token_seconds,
        ),
        publisher=Publisher.from_settings(settings),
    )


def build_app(settings: Settings) -> FastAPI:
    uow_factory = UnitOfWorkFactory.from_settings(settings)
    app = create_app(build_services(settings, uow_factory))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            hub = getattr(app.state, "live_events", None)
            if hub is not None:
                await hub.close()
            if app.state.services.publisher is not None:
                await app.state.services.publisher.close()
            await uow_factory.dispose()

    app.router.lifespan_context = lifespan
    return app


def run(settings: Settings) -> None:
    """Serve the management API until interrupted."""
    # The assistant's preview decides as the autoreply worker does, with its threads.
    configure_shared_embedder(threads=settings.embed_threads)
    uvicorn.run(
        build_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        loop="uvloop" if importlib.util.find_spec("uvloop") else "asyncio",
        http="httptools" if importlib.util.find_spec("httptools") else "h11",
        proxy_headers=True,
        access_log=False,
        log_config=None,
    )
