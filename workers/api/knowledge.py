"""The knowledge base: categories and items (``knowledge.manage``); items are soft-deleted and
can be restored. The autoreply consumer sees a change as it commits (a notice drops its cached
context), and at worst within that cache's few seconds.

The knowledge base grows from the questions staff answer by hand: ``POST
/knowledge/items/{id}/examples`` with a guest message's id keeps that message's words as one
more example question of the item, so the next guest who asks it that way gets the answer."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status
from pydantic import Field

from persistence.models import KnowledgeCategory, KnowledgeItem
from persistence.models.conversations import Direction, SenderType
from workers.api.problems import conflict, invalid, not_found
from workers.api.schemas import Body, Name, Out, Slug, Text
from workers.api.security import Context, require

router = APIRouter(prefix="/knowledge", tags=["knowledge"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]
EXAMPLE_LENGTH = 500
EXAMPLES_PER_ROW = 50
Examples = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=EXAMPLE_LENGTH)]],
    Field(max_length=EXAMPLES_PER_ROW),
]
Order = Annotated[int, Field(ge=0, le=100_000)]


class CategoryCreate(Body):
    slug: Slug
    name: Name
    display_order: Order = 0
    example_questions: Examples = []


class CategoryUpdate(Body):
    name: Name | None = None
    display_order: Order | None = None
    example_questions: Examples | None = None


class CategoryOut(Out):
    id: UUID
    slug: str
    name: str
    display_order: int
    example_questions: list[str]


class ItemCreate(Body):
    category_id: UUID
    question: Text
    answer: Text
    key: Slug | None = None
    example_questions: Examples = []
    display_order: Order = 0


class ItemUpdate(Body):
    category_id: UUID | None = None
    question: Text | None = None
    answer: Text | None = None
    example_questions: Examples | None = None
    display_order: Order | None = None


class ExampleFromMessage(Body):
    message_id: UUID = Field(description="A guest's message in one of the tenant's conversations")


class ItemOut(Out):
    id: UUID
    category_id: UUID
    key: str
    question: str
    answer: str
    example_questions: list[str]
    display_order: int
    deleted_at: datetime | None
    updated_at: datetime


def _key(question: str) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:40].strip("-")
    return f"{words or 'item'}-{secrets.token_hex(3)}"


async def _category(context: Context, category_id: UUID) -> KnowledgeCategory:
    row = await context.uow.knowledge.get_category(category_id=category_id)
    if row is None:
        raise not_found("knowledge category")
    return row


async def _item(context: Context, item_id: UUID) -> KnowledgeItem:
    row = await context.uow.knowledge.get_item(item_id=item_id)
    if row is None:
        raise not_found("knowledge item")
    return row


async def _audit(
    context: Context,
    resource: str,
    row_id: UUID,
    action: str,
    old: Mapping[str, object] | None,
    new: Mapping[str, object] | None,
) -> None:
    await context.uow.audit.add(
        actor=context.principal.actor,
        resource=resource,
        resource_id=row_id,
        action=action,
        old=old,
        new=new,
    )


@router.get("/categories", response_model=list[CategoryOut])
async def list_categories(context: Manage) -> list[CategoryOut]:
    return [
        CategoryOut.model_validate(row) for row in await context.uow.knowledge.list_categories()
    ]


@router.post("/categories", status_code=status.HTTP_201_CREATED, response_model=CategoryOut)
async def create_category(body: CategoryCreate, context: Manage) -> CategoryOut:
    knowledge = context.uow.knowledge
    if any(category.slug == body.slug for category in await knowledge.list_categories()):
        raise conflict(f"a category {body.slug!r} exists already")
    category_id = await knowledge.upsert_category(**body.model_dump())
    out = CategoryOut.model_validate(await _category(context, category_id))
    await _audit(context, "knowledge_category", category_id, "create", None, out.model_dump())
    await context.uow.commit()
    return out


@router.patch("/categories/{category_id}", response_model=CategoryOut)
async def update_category(category_id: UUID, body: CategoryUpdate, context: Manage) -> CategoryOut:
    row = await _category(context, category_id)
    old = CategoryOut.model_validate(row).model_dump()
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(row, name, value)
    await context.uow.session.flush()
    out = CategoryOut.model_validate(row)
    await _audit(context, "knowledge_category", row.id, "update", old, out.model_dump())
    await context.uow.commit()
    return out


@router.delete("/categories/{category_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_category(category_id: UUID, context: Manage) -> None:
    """Delete an empty category (one with items, even deleted ones, is kept: 409)."""
    row = await _category(context, category_id)
    if await context.uow.knowledge.count_items(category_id=row.id):
        raise conflict("the category still has items")
    old = CategoryOut.model_validate(row).model_dump()
    await context.uow.session.delete(row)
    await _audit(context, "knowledge_category", row.id, "delete", old, None)
    await context.uow.commit()


@router.get("/items", response_model=list[ItemOut])
async def list_items(
    context: Manage,
    deleted: Annotated[bool, Query(description="List the deleted items instead")] = False,
) -> list[ItemOut]:
    return [
        ItemOut.model_validate(row)
        for row in await context.uow.knowledge.list_items(deleted=deleted)
    ]


@router.post("/items", status_code=status.HTTP_201_CREATED, response_model=ItemOut)
async def create_item(body: ItemCreate, context: Manage) -> ItemOut:
    await _category(context, body.category_id)
    values = {**body.model_dump(), "key": body.key or _key(body.question)}
    if await context.uow.knowledge.find_item(key=values["key"]) is not None:
        raise conflict(f"an item {values['key']!r} exists already (restore it if deleted)")
    item_id = await context.uow.knowledge.upsert_item(**values)
    out = ItemOut.model_validate(await _item(context, item_id))
    await _audit(context, "knowledge_item", item_id, "create", None, values)
    await context.uow.commit()
    return out


@router.get("/items/{item_id}", response_model=ItemOut)
async def get_item(item_id: UUID, context: Manage) -> ItemOut:
    return ItemOut.model_validate(await _item(context, item_id))


@router.patch("/items/{item_id}", response_model=ItemOut)
async def update_item(item_id: UUID, body: ItemUpdate, context: Manage) -> ItemOut:
    row = await _item(context, item_id)
    if body.category_id is not None:
        await _category(context, body.category_id)
    old = ItemOut.model_validate(row).model_dump(exclude={"updated_at"})
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(row, name, value)
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    out = ItemOut.model_validate(row)
    await _audit(
        context, "knowledge_item", row.id, "update", old, out.model_dump(exclude={"updated_at"})
    )
    await context.uow.commit()
    return out


@router.delete("/items/{item_id}", response_model=ItemOut)
async def delete_item(item_id: UUID, context: Manage) -> ItemOut:
    """Soft-delete: the assistant stops using the item; restore brings it back."""
    return await _set_deleted(context, item_id, datetime.now(UTC))


@router.post("/items/{item_id}/restore", response_model=ItemOut)
async def restore_item(item_id: UUID, context: Manage) -> ItemOut:
    return await _set_deleted(context, item_id, None)


async def _set_deleted(context: Context, item_id: UUID, deleted_at: datetime | None) -> ItemOut:
    row = await _item(context, item_id)
    if (row.deleted_at is None) == (deleted_at is None):
        return ItemOut.model_validate(row)  # already so: nothing changes, nothing to audit
    old = {"deleted_at": row.deleted_at}
    row.deleted_at = deleted_at
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    action = "delete" if deleted_at is not None else "restore"
    await _audit(context, "knowledge_item", row.id, action, old, {"deleted_at": deleted_at})
    await context.uow.commit()
    return ItemOut.model_validate(row)


@router.post("/items/{item_id}/examples", response_model=ItemOut)
async def add_example_from_message(
    item_id: UUID, body: ExampleFromMessage, context: Manage
) -> ItemOut:
    """Keep a guest's message as an example question of the item (its words, whitespace
    collapsed). A message the item already has as its question or an example (ignoring case and
    spacing) changes nothing; a staff or assistant message, a message with no text, or one
    longer than an example can be is 422; an item with 50 examples already is 409."""
    row = await _item(context, item_id)
    message = await context.uow.messages.get(message_id=body.message_id)
    if message is None:
        raise not_found("message")
    if message.direction is not Direction.INBOUND or message.sender_type is not SenderType.GUEST:
        raise invalid("message_id", "only a guest's message can be an example question")
    text = " ".join((message.content or "").split())
    if not text:
        raise invalid("message_id", "the message has no text")
    if len(text) > EXAMPLE_LENGTH:
        raise invalid(
            "message_id", f"the message is longer than an example ({EXAMPLE_LENGTH} characters)"
        )
    known = {_same(phrasing) for phrasing in (row.question, *row.example_questions)}
    if _same(text) in known:
        return ItemOut.model_validate(row)  # already taught: nothing changes, nothing to audit
    if len(row.example_questions) >= EXAMPLES_PER_ROW:
        raise conflict(f"the item has {EXAMPLES_PER_ROW} example questions already")
    old = {"example_questions": list(row.example_questions)}
    row.example_questions = [*row.example_questions, text]
    await context.uow.session.flush()
    await context.uow.session.refresh(row)
    new = {"example_questions": list(row.example_questions), "message_id": str(message.id)}
    await _audit(context, "knowledge_item", row.id, "update", old, new)
    await context.uow.commit()
    return ItemOut.model_validate(row)


def _same(phrasing: str) -> str:
    return " ".join(phrasing.casefold().split())
