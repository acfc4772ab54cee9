"""The knowledge base in bulk (``knowledge.manage``): reorder items and categories, import a CSV
or JSON file (``?dry_run=true`` reports without writing), export the live items.

An import reports each row created, updated, unchanged or refused with the reason; a file with
a refused row is a 422 carrying that report, and nothing of it is written.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import Field

from persistence.models import KnowledgeCategory, KnowledgeItem
from workers.api.commands.knowledge_io import Format, export_items, import_items, parse, render
from workers.api.config_rows import audited
from workers.api.problems import Problem, field_error, invalid, problem_response
from workers.api.schemas import Body, Out
from workers.api.security import Context, require

router = APIRouter(prefix="/knowledge", tags=["knowledge"])
Manage = Annotated[Context, Depends(require("knowledge.manage"))]
MAX_IMPORT_BYTES = 5 * 1024 * 1024
Ids = Annotated[list[UUID], Field(min_length=1, max_length=5_000)]
IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
        },
    }
}


class ItemOrder(Body):
    item_ids: Ids = Field(description="Live items in the order wanted; the others keep theirs.")


class CategoryOrder(Body):
    category_ids: Ids


class Ordered(Out):
    id: UUID
    display_order: int


def _format(request: Request, given: str | None) -> Format:
    if given is not None:
        return "json" if given == "json" else "csv"
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in ("application/json", "text/json"):
        return "json"
    if media in ("text/csv", "application/csv", "text/plain"):
        return "csv"
    raise invalid("content-type", "send text/csv or application/json", location="header")


@router.post(
    "/import",
    openapi_extra=IMPORT_BODY,
    responses={422: {"description": "A row was refused: the report, nothing written"}},
)
async def import_knowledge(
    request: Request,
    context: Manage,
    dry_run: Annotated[bool, Query(description="Report what would change; write nothing")] = False,
    format: Annotated[Literal["csv", "json"] | None, Query()] = None,
) -> JSONResponse:
    """Create or update items (and categories) from a CSV or JSON file."""
    fmt = _format(request, format)
    data = await request.body()
    if len(data) > MAX_IMPORT_BYTES:
        raise Problem(413, f"at most {MAX_IMPORT_BYTES} bytes per import", kind="too-large")
    rows = parse(data, fmt)
    report = await import_items(
        context.uow, actor=context.principal.actor, rows=rows, dry_run=dry_run
    )
    if report.applied:
        await context.uow.commit()
    elif not dry_run:  # refused rows: the report as a problem, nothing written
        errors = [
            field_error("body", f"rows.{row.row}", row.reason or "refused")
            for row in report.rows
            if row.outcome == "refused"
        ]
        return problem_response(
            422,
            f"{len(errors)} row(s) refused: nothing was imported",
            kind="validation",
            extensions={"errors": errors, "report": report.as_dict()},
        )
    return JSONResponse(report.as_dict())


@router.get("/export", response_class=Response)
async def export_knowledge(
    context: Manage,
    format: Annotated[Literal["csv", "json"], Query()] = "json",
) -> Response:
    """The live items, in a file ``/knowledge/import`` takes back."""
    text = render(await export_items(context.uow), format)
    media = "application/json" if format == "json" else "text/csv; charset=utf-8"
    disposition = f'attachment; filename="knowledge.{format}"'
    return Response(text, media_type=media, headers={"Content-Disposition": disposition})


async def _reorder(
    context: Context, rows: dict[UUID, Any], wanted: list[UUID], field: str, resource: str
) -> list[Ordered]:
    seen: set[UUID] = set()
    for index, row_id in enumerate(wanted):
        if row_id not in rows:
            raise invalid(f"{field}.{index}", "no such live record")
        if row_id in seen:
            raise invalid(f"{field}.{index}", "named twice")
        seen.add(row_id)
    old = {str(row_id): rows[row_id].display_order for row_id in wanted}
    for position, row_id in enumerate(wanted):
        rows[row_id].display_order = position
    await context.uow.session.flush()
    new = {str(row_id): position for position, row_id in enumerate(wanted)}
    await audited(context, resource, None, "reorder", old={"order": old}, new={"order": new})
    await context.uow.commit()
    return [Ordered(id=row_id, display_order=rows[row_id].display_order) for row_id in wanted]


@router.post("/items/reorder", response_model=list[Ordered])
async def reorder_items(body: ItemOrder, context: Manage) -> list[Ordered]:
    """Number the given items 0, 1, 2, ... in the order given."""
    items: dict[UUID, KnowledgeItem] = {
        row.id: row for row in await context.uow.knowledge.list_items()
    }
    return await _reorder(context, items, body.item_ids, "item_ids", "knowledge_item")


@router.post("/categories/reorder", response_model=list[Ordered])
async def reorder_categories(body: CategoryOrder, context: Manage) -> list[Ordered]:
    categories: dict[UUID, KnowledgeCategory] = {
        row.id: row for row in await context.uow.knowledge.list_categories()
    }
    return await _reorder(
        context, categories, body.category_ids, "category_ids", "knowledge_category"
    )
