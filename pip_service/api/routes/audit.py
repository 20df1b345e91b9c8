"""Admin: the audit log (who changed what), newest first."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from pip_service.api.deps import STRICT_QUERY, CurrentViewer, SessionDep
from pip_service.api.pagination import Cursor, Limit, Page, fetch_page, make_page
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.audit.models import AuditEvent

router = APIRouter(
    prefix="/api/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES, dependencies=[STRICT_QUERY]
)


class AuditEventOut(BaseModel):
    """One audited action."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    action: str
    target_type: str | None
    target_id: str | None
    details: dict[str, Any]
    correlation_id: str | None


@router.get("")
async def list_audit_events(
    request: Request,
    session: SessionDep,
    _: CurrentViewer,
    limit: Limit = 50,
    cursor: Cursor = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=100)] = None,
) -> Page[AuditEventOut]:
    """Audit events, filtered by actor and/or action."""
    query = select(AuditEvent)
    if actor is not None:
        query = query.where(AuditEvent.actor == actor)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    rows, next_cursor = await fetch_page(session, query, AuditEvent.id, limit=limit, cursor=cursor)
    return make_page(request, rows, next_cursor, AuditEventOut.model_validate)
