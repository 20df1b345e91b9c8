"""Admin: sync runs with counts, errors and live progress."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from pip_service.api.deps import STRICT_QUERY, CurrentViewer, SessionDep
from pip_service.api.pagination import Cursor, Limit, Page, fetch_page, make_page
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.errors import NotFoundError
from pip_service.sync.models import SyncRun

router = APIRouter(
    prefix="/api/v1/sync-runs",
    tags=["sync runs"],
    responses=PROBLEM_RESPONSES,
    dependencies=[STRICT_QUERY],
)

RunId = Annotated[int, Path(ge=1, le=2**62)]
RunStatus = Literal["running", "success", "failed", "partial", "cancelled"]


class SyncRunOut(BaseModel):
    """One run of one connection."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    connection_id: int
    mode: str
    trigger: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    duration_seconds: float | None = None
    fetched: int
    created: int
    updated: int
    unchanged: int
    deleted: int
    pages: int
    error_code: str | None
    error: str | None
    correlation_id: str
    progress: dict[str, Any]

    @classmethod
    def of(cls, run: SyncRun) -> SyncRunOut:
        """The API shape of a run, with its duration."""
        out = cls.model_validate(run)
        if run.finished_at is not None:
            out.duration_seconds = round((run.finished_at - run.started_at).total_seconds(), 3)
        return out


def runs_query(connection_id: int | None = None, status: str | None = None) -> Any:
    """The runs, filtered by connection and status."""
    query = select(SyncRun)
    if connection_id is not None:
        query = query.where(SyncRun.connection_id == connection_id)
    if status is not None:
        query = query.where(SyncRun.status == status)
    return query


@router.get("")
async def list_runs(
    request: Request,
    session: SessionDep,
    _: CurrentViewer,
    limit: Limit = 50,
    cursor: Cursor = None,
    connection_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: RunStatus | None = None,
) -> Page[SyncRunOut]:
    """Sync runs, newest first."""
    query = runs_query(connection_id, status)
    rows, next_cursor = await fetch_page(session, query, SyncRun.id, limit=limit, cursor=cursor)
    return make_page(request, rows, next_cursor, SyncRunOut.of)


@router.get("/{run_id}")
async def get_run(run_id: RunId, session: SessionDep, _: CurrentViewer) -> SyncRunOut:
    """One run, with live progress while it is running."""
    run = await session.get(SyncRun, run_id)
    if run is None:
        raise NotFoundError(f"No sync run with id {run_id}")
    return SyncRunOut.of(run)
