"""Message templates: ``PUT /templates/{id}`` changes a template's text (``knowledge.manage``).

The text is a Jinja2 template over the fields ``workers.scheduler.rendering.FIELDS`` lists
(``{{ guest.first_name }}``, ``{{ reservation.check_in }}``, ``{{ property.name }}``, ...);
one naming anything else, or with a syntax error, is refused with a 422 naming ``body`` or
``subject``, so a guest never receives a message that could not be rendered.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, StringConstraints

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


class TemplateOut(Out):
    id: UUID
    channel: str
    rule_key: str
    language: str
    subject: str | None
    body: str
    version: int


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
