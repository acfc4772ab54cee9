"""WhatsApp templates (``knowledge.manage``): the templates registered with WhatsApp for a
WhatsApp Cloud channel, needed to write first outside the 24-hour window. Staff record them
here with their approval status as WhatsApp reports it; the scheduler sends only approved ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import Field, StringConstraints

from domain.events import Provider
from persistence.models import Channel, WhatsAppTemplate
from workers.api.config_rows import audited, deleted, found, patch
from workers.api.problems import conflict, invalid, not_found
from workers.api.schemas import Body, Out, Text
from workers.api.security import Context, require

router = APIRouter(prefix="/whatsapp-templates", tags=["whatsapp templates"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]
TemplateName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,512}$")]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(_[A-Za-z]{2,4})?$")]
Category = Literal["marketing", "utility", "authentication"]
Approval = Literal["pending", "approved", "rejected", "paused", "disabled"]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]
Components = Annotated[dict[str, Any], Field(max_length=50)]


class WhatsAppTemplateIn(Body):
    channel_id: UUID
    name: TemplateName
    language: Language
    category: Category
    body: Text
    components: Components = {}
    approval_status: Approval = "pending"
    provider_template_id: Reference | None = None


class WhatsAppTemplatePatch(Body):
    category: Category | None = None
    body: Text | None = None
    components: Components | None = None
    approval_status: Approval | None = None
    provider_template_id: Reference | None = None
    rejection_reason: Reason | None = None


class WhatsAppTemplateOut(Out):
    id: UUID
    channel_id: UUID
    name: str
    language: str
    category: str
    body: str
    components: dict[str, Any]
    approval_status: str
    provider_template_id: str | None
    rejection_reason: str | None
    updated_at: datetime


NULLABLE = frozenset({"provider_template_id", "rejection_reason"})


def _values(row: WhatsAppTemplate) -> dict[str, object]:
    return WhatsAppTemplateOut.model_validate(row).model_dump(exclude={"id", "updated_at"})


async def _whatsapp_channel(context: Context, channel_id: UUID) -> Channel:
    channel = await context.uow.channels.get(channel_id=channel_id)
    if channel is None:
        raise not_found("channel")
    if channel.provider != Provider.WHATSAPP_CLOUD.value:
        raise invalid("channel_id", "WhatsApp templates belong to a WhatsApp Cloud channel")
    return channel


@router.get("", response_model=list[WhatsAppTemplateOut])
async def list_whatsapp_templates(context: Manage) -> list[WhatsAppTemplateOut]:
    rows = await context.uow.configuration.list_all(
        WhatsAppTemplate, WhatsAppTemplate.name, WhatsAppTemplate.language
    )
    return [WhatsAppTemplateOut.model_validate(row) for row in rows]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WhatsAppTemplateOut)
async def create_whatsapp_template(
    body: WhatsAppTemplateIn, context: Manage
) -> WhatsAppTemplateOut:
    channel = await _whatsapp_channel(context, body.channel_id)
    same = await context.uow.configuration.list_all(
        WhatsAppTemplate, channel_id=channel.id, name=body.name, language=body.language
    )
    if same:
        raise conflict(f"the channel has a template {body.name!r} in {body.language} already")
    row = await context.uow.configuration.add(WhatsAppTemplate, **body.model_dump())
    await audited(context, "whatsapp_template", row.id, "create", new=_values(row))
    await context.uow.commit()
    return WhatsAppTemplateOut.model_validate(row)


@router.get("/{whatsapp_template_id}", response_model=WhatsAppTemplateOut)
async def get_whatsapp_template(whatsapp_template_id: UUID, context: Manage) -> WhatsAppTemplateOut:
    row = await found(context, WhatsAppTemplate, whatsapp_template_id, "WhatsApp template")
    return WhatsAppTemplateOut.model_validate(row)


@router.patch("/{whatsapp_template_id}", response_model=WhatsAppTemplateOut)
async def update_whatsapp_template(
    whatsapp_template_id: UUID, body: WhatsAppTemplatePatch, context: Manage
) -> WhatsAppTemplateOut:
    """Change the text, or record WhatsApp's verdict (approved, rejected with a reason, ...)."""
    row = await found(context, WhatsAppTemplate, whatsapp_template_id, "WhatsApp template")
    old = _values(row)
    patch(row, body.model_dump(exclude_unset=True), nullable=NULLABLE)
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    await audited(context, "whatsapp_template", row.id, "update", old=old, new=_values(row))
    await context.uow.commit()
    return WhatsAppTemplateOut.model_validate(row)


@router.delete("/{whatsapp_template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_whatsapp_template(whatsapp_template_id: UUID, context: Manage) -> None:
    row = await found(context, WhatsAppTemplate, whatsapp_template_id, "WhatsApp template")
    old = _values(row)
    await deleted(context, row, "whatsapp_template", old)
