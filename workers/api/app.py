"""The management API application: every route under ``/api/v1``, each declaring the
permission it needs (``x-permission`` in the OpenAPI), errors as problem+json."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from workers.api import (
    ai,
    ai_model,
    alert_targets,
    api_keys,
    assistant,
    assistant_preview,
    audit,
    auth,
    business_hours,
    canned_responses,
    channel_health,
    channels,
    conversations,
    events,
    flows,
    inbox_actions,
    integrations,
    knowledge,
    knowledge_documents,
    knowledge_io,
    problems,
    properties,
    reports,
    reservations,
    routing,
    routing_rules,
    schedule,
    send_limits,
    service_levels,
    teams,
    templates,
    triggers,
    users,
    whatsapp_templates,
)
from workers.api.security import declared_permission
from workers.api.services import Services

PREFIX = "/api/v1"
# Routes anyone may call: they are how one gets a token in the first place.
PUBLIC_PATHS = frozenset(
    {f"{PREFIX}/auth/token", f"{PREFIX}/auth/refresh", f"{PREFIX}/auth/set-password"}
)
RESOURCES = (
    auth.router,
    api_keys.router,
    audit.router,
    ai.router,
    ai_model.router,
    assistant.router,
    assistant_preview.router,
    knowledge.router,
    knowledge_io.router,
    knowledge_documents.router,
    properties.router,
    channels.router,
    channel_health.router,
    send_limits.router,
    users.router,
    reservations.router,
    schedule.router,
    templates.router,
    triggers.router,
    flows.router,
    teams.router,
    business_hours.router,
    service_levels.router,
    whatsapp_templates.router,
    canned_responses.router,
    alert_targets.router,
    integrations.router,
    routing.router,
    routing_rules.router,
    conversations.router,
    inbox_actions.router,
    events.router,
    reports.router,
)


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="frontdesk management API",
        summary="Sign-in, permissions and tenant configuration for staff and integrations.",
        version="1.0",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.services = services
    problems.install(app)
    api = APIRouter(prefix=PREFIX)
    for router in RESOURCES:
        publish_permissions(router)
        api.include_router(router)
    app.include_router(api)
    return app


def publish_permissions(router: APIRouter) -> None:
    """Copy each route's declared permission into its OpenAPI operation (``x-permission``)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            permission = declared_permission(route)
            if permission is not None:
                route.openapi_extra = {**(route.openapi_extra or {}), "x-permission": permission}
