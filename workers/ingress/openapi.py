"""OpenAPI descriptions of the webhook routes, from each provider's ``WebhookDoc``: the routes
read their bodies raw to check signatures, so FastAPI cannot describe them by itself."""

from __future__ import annotations

from typing import Any

from workers.providers.spec import Handshake, WebhookDoc

HANDSHAKE = "The provider's subscription handshake: echoes the challenge if the token matches."

_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Body is not valid JSON or form data."},
    401: {"description": "No signature was presented."},
    403: {"description": "The signature is wrong, stale or replayed."},
    404: {"description": "Unknown or disabled channel, or a channel of another provider."},
    413: {"description": "Body larger than the configured limit."},
    422: {"description": "Body does not match the provider's documented format."},
    503: {"description": "Broker unavailable; retry after the Retry-After header's seconds."},
}


def json_body(description: str, example: dict[str, Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}, "example": example}},
        }
    }


def form_body(
    description: str, fields: dict[str, str], *, multipart: bool = False
) -> dict[str, Any]:
    properties = {name: {"type": "string", "description": doc} for name, doc in fields.items()}
    schema = {"type": "object", "properties": properties}
    content = {"application/x-www-form-urlencoded": {"schema": schema}}
    if multipart:
        content["multipart/form-data"] = {"schema": schema}
    return {"requestBody": {"required": True, "description": description, "content": content}}


def responses() -> dict[int | str, dict[str, Any]]:
    return dict(_REFUSALS)


def operation(doc: WebhookDoc) -> dict[str, Any]:
    """A webhook route's request body and the authentication headers it reads."""
    if doc.example is not None:
        extra = json_body(doc.body, dict(doc.example))
    else:
        extra = form_body(doc.body, dict(doc.fields or {}), multipart=doc.multipart)
    if doc.headers:
        extra["parameters"] = [_parameter(name, "header") for name in doc.headers]
    return extra


def handshake(handshake: Handshake) -> dict[str, Any]:
    """A handshake route's query parameters."""
    return {"parameters": [_parameter(name, "query") for name in handshake.query]}


def _parameter(name: str, location: str) -> dict[str, Any]:
    return {"name": name, "in": location, "required": False, "schema": {"type": "string"}}
