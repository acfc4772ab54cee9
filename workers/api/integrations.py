"""Integration credentials (``channels.manage``): connections to outside systems (a PMS, a POS
such as iiko), one per kind. Credentials are encrypted like a channel's and never returned:
an answer names which are set, each masked to its last characters at most."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import Field, SecretStr, StringConstraints

from persistence.models import IntegrationCredential
from workers.api.channel_credentials import Url
from workers.api.channels import hint
from workers.api.config_rows import audited, deleted, found, patch
from workers.api.problems import conflict
from workers.api.schemas import Body, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/integrations", tags=["integrations"])
Manage = Annotated[Context, Depends(require("channels.manage"))]
Kind = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
CredentialName = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
Credentials = Annotated[
    dict[CredentialName, Annotated[SecretStr, Field(min_length=1, max_length=4096)]],
    Field(min_length=1, max_length=20),
]
Settings = Annotated[dict[str, Any], Field(max_length=50)]


class IntegrationIn(Body):
    integration_type: Kind
    base_url: Url | None = None
    credentials: Credentials
    settings: Settings = {}


class IntegrationPatch(Body):
    base_url: Url | None = None
    credentials: Credentials | None = Field(
        default=None, description="Replaces every credential of the integration."
    )
    settings: Settings | None = None
    enabled: bool | None = Field(default=None, description="false: connection_status disabled")


class IntegrationOut(Out):
    id: UUID
    integration_type: str
    base_url: str | None
    credentials_hint: dict[str, str]
    settings: dict[str, Any]
    connection_status: str
    last_error: str | None
    last_checked_at: datetime | None
    updated_at: datetime


def _plain(credentials: dict[str, SecretStr]) -> dict[str, str]:
    return {name: value.get_secret_value() for name, value in credentials.items()}


def _out(context: Context, row: IntegrationCredential) -> IntegrationOut:
    credentials = context.uow.configuration.open_json(row.credentials_encrypted)
    return IntegrationOut(
        id=row.id,
        integration_type=row.integration_type,
        base_url=row.base_url,
        credentials_hint={name: hint(value) for name, value in sorted(credentials.items())},
        settings=row.settings,
        connection_status=row.connection_status,
        last_error=row.last_error,
        last_checked_at=row.last_checked_at,
        updated_at=row.updated_at,
    )


def _values(context: Context, row: IntegrationCredential) -> dict[str, object]:
    out = _out(context, row)
    values = out.model_dump(
        exclude={"id", "updated_at", "credentials_hint", "last_error", "last_checked_at"}
    )
    return {**values, "credentials": sorted(out.credentials_hint)}


@router.get("", response_model=list[IntegrationOut])
async def list_integrations(context: Manage) -> list[IntegrationOut]:
    rows = await context.uow.configuration.list_all(
        IntegrationCredential, IntegrationCredential.integration_type
    )
    return [_out(context, row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IntegrationOut)
async def create_integration(body: IntegrationIn, context: Manage) -> IntegrationOut:
    if await context.uow.configuration.list_all(
        IntegrationCredential, integration_type=body.integration_type
    ):
        raise conflict(f"an integration {body.integration_type!r} exists already")
    row = await context.uow.configuration.add(
        IntegrationCredential,
        integration_type=body.integration_type,
        base_url=body.base_url,
        credentials_encrypted=context.uow.configuration.seal_json(_plain(body.credentials)),
        settings=body.settings,
    )
    await audited(context, "integration", row.id, "create", new=_values(context, row))
    await context.uow.commit()
    return _out(context, row)


@router.get("/{integration_id}", response_model=IntegrationOut)
async def get_integration(integration_id: UUID, context: Manage) -> IntegrationOut:
    row = await found(context, IntegrationCredential, integration_id, "integration")
    return _out(context, row)


@router.patch("/{integration_id}", response_model=IntegrationOut)
async def update_integration(
    integration_id: UUID, body: IntegrationPatch, context: Manage
) -> IntegrationOut:
    row = await found(context, IntegrationCredential, integration_id, "integration")
    old = _values(context, row)
    values = body.model_dump(exclude_unset=True, exclude={"credentials", "enabled"})
    patch(row, values, nullable=frozenset({"base_url"}))
    if body.credentials is not None:
        row.credentials_encrypted = context.uow.configuration.seal_json(_plain(body.credentials))
    if body.enabled is not None:
        row.connection_status = "unknown" if body.enabled else "disabled"
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    new = _values(context, row)
    if body.credentials is not None:
        new["credentials"] = {"replaced": new["credentials"]}
    await audited(context, "integration", row.id, "update", old=old, new=new)
    await context.uow.commit()
    return _out(context, row)


@router.delete("/{integration_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_integration(integration_id: UUID, context: Manage) -> None:
    row = await found(context, IntegrationCredential, integration_id, "integration")
    old = _values(context, row)
    await deleted(context, row, "integration", old)
