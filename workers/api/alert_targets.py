"""Staff alert targets (``channels.manage``): where escalations go, either a staff phone or chat
reached through a channel that allows staff alerts, or a Slack-compatible webhook. A webhook URL
is a credential: stored encrypted, never returned, only a masked hint of it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import Field, SecretStr, model_validator

from persistence.models import StaffAlertTarget
from workers.api.channel_credentials import Address
from workers.api.channels import hint
from workers.api.commands.staff import live_user
from workers.api.config_rows import audited, deleted, found, patch
from workers.api.problems import invalid, not_found
from workers.api.schemas import Body, Name, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/alert-targets", tags=["staff alerts"])
Manage = Annotated[Context, Depends(require("channels.manage"))]
WebhookUrl = Annotated[SecretStr, Field(min_length=12, max_length=2000)]


class TargetIn(Body):
    name: Name
    kind: Literal["channel", "webhook"]
    channel_id: UUID | None = None
    address: Address | None = None
    user_id: UUID | None = None
    webhook_url: WebhookUrl | None = None
    urgent_only: bool = False
    enabled: bool = True

    @model_validator(mode="after")
    def fields_of_the_kind(self) -> TargetIn:
        if self.kind == "channel" and (self.channel_id is None or self.address is None):
            raise ValueError("a channel target needs channel_id and address")
        if self.kind == "webhook" and self.webhook_url is None:
            raise ValueError("a webhook target needs webhook_url")
        return self


class TargetPatch(Body):
    name: Name | None = None
    address: Address | None = None
    webhook_url: WebhookUrl | None = None
    urgent_only: bool | None = None
    enabled: bool | None = None


class TargetOut(Out):
    id: UUID
    name: str
    kind: str
    channel_id: UUID | None
    user_id: UUID | None
    address: str | None
    webhook_url_hint: str | None = Field(description="Masked: the URL itself is never shown.")
    urgent_only: bool
    enabled: bool
    updated_at: datetime


def _url(value: SecretStr) -> str:
    url = value.get_secret_value().strip()
    if not url.startswith("https://"):
        raise invalid("webhook_url", "must be an https:// URL")
    return url


def _out(context: Context, row: StaffAlertTarget) -> TargetOut:
    sealed = row.webhook_url_encrypted
    return TargetOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        channel_id=row.channel_id,
        user_id=row.user_id,
        address=row.address,
        webhook_url_hint=hint(context.uow.configuration.open(sealed)) if sealed else None,
        urgent_only=row.urgent_only,
        enabled=row.enabled,
        updated_at=row.updated_at,
    )


def _values(context: Context, row: StaffAlertTarget) -> dict[str, object]:
    values = _out(context, row).model_dump(exclude={"id", "updated_at", "webhook_url_hint"})
    return {**values, "webhook_url": "set" if row.webhook_url_encrypted else None}


@router.get("", response_model=list[TargetOut])
async def list_targets(context: Manage) -> list[TargetOut]:
    rows = await context.uow.configuration.list_all(StaffAlertTarget, StaffAlertTarget.name)
    return [_out(context, row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TargetOut)
async def create_target(body: TargetIn, context: Manage) -> TargetOut:
    values = body.model_dump(exclude={"webhook_url"})
    if body.kind == "channel":
        assert body.channel_id is not None
        channel = await context.uow.channels.get(channel_id=body.channel_id)
        if channel is None:
            raise not_found("channel")
        if not channel.staff_alerts:
            raise invalid("channel_id", "the channel does not carry staff alerts (staff_alerts)")
        values["webhook_url_encrypted"] = None
    else:
        assert body.webhook_url is not None
        values.update(channel_id=None, address=None)
        values["webhook_url_encrypted"] = context.uow.configuration.seal(_url(body.webhook_url))
    if body.user_id is not None:
        await live_user(context.uow, body.user_id)
    row = await context.uow.configuration.add(StaffAlertTarget, **values)
    await audited(context, "staff_alert_target", row.id, "create", new=_values(context, row))
    await context.uow.commit()
    return _out(context, row)


@router.get("/{target_id}", response_model=TargetOut)
async def get_target(target_id: UUID, context: Manage) -> TargetOut:
    return _out(context, await found(context, StaffAlertTarget, target_id, "alert target"))


@router.patch("/{target_id}", response_model=TargetOut)
async def update_target(target_id: UUID, body: TargetPatch, context: Manage) -> TargetOut:
    row = await found(context, StaffAlertTarget, target_id, "alert target")
    old = _values(context, row)
    values = body.model_dump(exclude_unset=True, exclude={"webhook_url"})
    if "address" in values and row.kind != "channel":
        raise invalid("address", "only a channel target has an address")
    if "webhook_url" in body.model_fields_set:
        if row.kind != "webhook" or body.webhook_url is None:
            raise invalid("webhook_url", "only a webhook target has one, and it cannot be null")
        row.webhook_url_encrypted = context.uow.configuration.seal(_url(body.webhook_url))
    patch(row, values)
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    new = _values(context, row)
    if "webhook_url" in body.model_fields_set:
        new["webhook_url"] = "replaced"
    await audited(context, "staff_alert_target", row.id, "update", old=old, new=new)
    await context.uow.commit()
    return _out(context, row)


@router.delete("/{target_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_target(target_id: UUID, context: Manage) -> None:
    row = await found(context, StaffAlertTarget, target_id, "alert target")
    old = _values(context, row)
    await deleted(context, row, "staff_alert_target", old)
