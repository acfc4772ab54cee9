"""The configuration audit: ``audit.read``; newest first, values with secrets masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from workers.api.schemas import Out
from workers.api.security import Context, require

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntry(Out):
    id: UUID
    created_at: datetime
    actor_type: str
    actor_user_id: UUID | None
    actor_api_key_id: UUID | None
    actor_label: str
    resource: str
    resource_id: str | None
    action: str
    old_values: dict[str, Any] | None
    new_values: dict[str, Any] | None


@router.get("", response_model=list[AuditEntry])
async def list_audit(
    context: Annotated[Context, Depends(require("audit.read"))],
    resource: Annotated[str | None, Query(max_length=64)] = None,
    before: Annotated[datetime | None, Query(description="Only entries older than this")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntry]:
    rows = await context.uow.audit.list_recent(limit=limit, resource=resource, before=before)
    return [AuditEntry.model_validate(row) for row in rows]
