"""Message templates (``knowledge.manage``): list, create, read, ``PUT /templates/{id}`` to
change a template's text, and delete (soft: triggers naming it keep their history).

The text is a Jinja2 template over the fields ``workers.scheduler.rendering.FIELDS`` lists
(``{{ guest.first_name }}``, ``{{ reservation.check_in }}``, ``{{ property.name }}``, ...);
one naming anything else, or with a syntax error, is refused with a 422 naming ``body`` or
``subject``, so a guest never receives a message that could not be rendered.
"""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, status
from pydantic import AfterValidator, StringConstraints

from persistence.models import Template
from workers.api.problems import not_found
from workers.api.schemas import Body, Out
from workers.api.security import Context, require
from workers.scheduler import rendering

router = APIRouter(prefix="/templates", tags=["templates"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]


def _checked(value: str) -> str:
    rendering.check_template(value)
    return value


TemplateText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=4096),
    AfterValidator(_checked),
]


class TemplateIn(Body):
    body: TemplateText
    subject: TemplateText | None = None


class TemplateCreate(TemplateIn):
    channel: Literal["green_api", "whatsapp_cloud", "twilio_sms", "telegram", "email"]
    rule_key: Annotated[
        str, StringConstraints(pattern=r"^(T_MINUS_3|T_MINUS_1|DAY_OF|custom:[a-z0-9_-]{1,60})$")
    ]
    language: Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")] = "en"


class TemplateOut(Out):
    id: UUID
    channel: str
    rule_key: str
    language: str
    subject: str | None
    body: str
    version: int


async def _live(context: Context, template_id: UUID) -> Template:
    row = await context.uow.templates.get(template_id=template_id)
    if row is None or row.deleted_at is not None:
        raise not_found("template")
    return row


@router.get("", response_model=list[TemplateOut])
async def list_templates(context: Manage) -> list[TemplateOut]:
    return [TemplateOut.model_validate(row) for row in await context.uow.templates.list_live()]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TemplateOut)
async def create_template(payload: TemplateCreate, context: Manage) -> TemplateOut:
    """A new template (one live per channel kind, rule and language: 409 otherwise)."""
    row = await context.uow.templates.add(**payload.model_dump())
    out = TemplateOut.model_validate(row)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="template",
        resource_id=row.id,
        action="create",
        new=out.model_dump(),
    )
    await context.uow.commit()
    return out


@router.get("/{template_id}", response_model=TemplateOut)
async def get_template(template_id: UUID, context: Manage) -> TemplateOut:
    return TemplateOut.model_validate(await _live(context, template_id))


@router.delete("/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(template_id: UUID, context: Manage) -> None:
    row = await _live(context, template_id)
    old = TemplateOut.model_validate(row).model_dump()
    await context.uow.templates.delete(template_id=row.id)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="template",
        resource_id=row.id,
        action="delete",
        old=old,
    )
    await context.uow.commit()


@router.put("/{template_id}", response_model=TemplateOut)
async def put_template(template_id: UUID, payload: TemplateIn, context: Manage) -> TemplateOut:
    """Replace the template's text (its version goes up)."""
    before = await context.uow.templates.get(template_id=template_id)
    if before is None or before.deleted_at is not None:
        raise not_found("template")
    old = TemplateOut.model_validate(before).model_dump()
    await context.uow.templates.revise(
        template_id=template_id, body=payload.body, subject=payload.subject
    )
    await context.uow.session.refresh(before)
    out = TemplateOut.model_validate(before)
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource="template",
        resource_id=template_id,
        action="update",
        old=old,
        new=out.model_dump(),
    )
    await context.uow.commit()
    return out
