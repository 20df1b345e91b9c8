"""Admin: connections (CRUD; secrets write-only), test, discover, sync, cancel, runs."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from pip_service.api.deps import (
    STRICT_QUERY,
    ConnectionId,
    CurrentAdmin,
    CurrentOperator,
    CurrentViewer,
    RuntimeDep,
    SessionDep,
)
from pip_service.api.pagination import Cursor, Limit, Page, fetch_page, make_page
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.api.routes.runs import RunStatus, SyncRunOut, runs_query
from pip_service.connections import service
from pip_service.connections.models import Connection
from pip_service.connections.schemas import ConnectionCreate, ConnectionRead, ConnectionUpdate
from pip_service.errors import ConfigError
from pip_service.sync.models import SyncRun

router = APIRouter(
    prefix="/api/v1/connections",
    tags=["connections"],
    responses=PROBLEM_RESPONSES,
    dependencies=[STRICT_QUERY],
)


class TestResultOut(BaseModel):
    """What testing a connection found."""

    ok: bool
    message: str
    latency_ms: float | None = None
    checked: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    error_code: str | None = None


class FieldOut(BaseModel):
    """One field a stream emits."""

    name: str
    type: str
    sensitivity: str
    description: str | None = None


class StreamOut(BaseModel):
    """A stream of a connection, with its fields."""

    name: str
    entity: str
    primary_key: str
    replication_key: str | None
    fields: list[FieldOut]


class SyncStarted(BaseModel):
    """A sync that was started in the background."""

    run_id: int
    connection_id: int
    mode: str
    status_url: str


class SyncCancelled(BaseModel):
    """Whether a running sync was asked to stop."""

    connection_id: int
    cancelled: bool


@router.get("")
async def list_connections(
    request: Request,
    session: SessionDep,
    _: CurrentViewer,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[ConnectionRead]:
    """Connections, newest first."""
    rows, next_cursor = await fetch_page(
        session, select(Connection), Connection.id, limit=limit, cursor=cursor
    )
    return make_page(request, rows, next_cursor, ConnectionRead.from_connection)


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_connection(
    body: ConnectionCreate,
    session: SessionDep,
    runtime: RuntimeDep,
    admin: CurrentAdmin,
    background: BackgroundTasks,
) -> ConnectionRead:
    """Add a connection; secret fields in ``config`` are stored encrypted and never returned."""
    try:
        connection = await service.create_connection(
            session, **body.model_dump(), actor=admin.name, keyring=runtime.keyring
        )
    except ConfigError as err:
        if err.details.get("field") != "type":
            raise
        raise ConfigError(err.message, code=err.code, field="connector_type") from err
    background.add_task(runtime.refresh_schedule)
    return ConnectionRead.from_connection(connection)


@router.get("/{connection_id}")
async def get_connection(
    connection_id: ConnectionId, session: SessionDep, _: CurrentViewer
) -> ConnectionRead:
    """One connection."""
    return ConnectionRead.from_connection(await service.get_connection(session, connection_id))


@router.patch("/{connection_id}")
async def update_connection(
    connection_id: ConnectionId,
    body: ConnectionUpdate,
    session: SessionDep,
    runtime: RuntimeDep,
    admin: CurrentAdmin,
    background: BackgroundTasks,
) -> ConnectionRead:
    """Change the fields sent; a secret sent in ``config`` replaces the stored one."""
    connection = await service.update_connection(
        session,
        connection_id=connection_id,
        changes=body,
        actor=admin.name,
        keyring=runtime.keyring,
    )
    background.add_task(runtime.refresh_schedule)
    return ConnectionRead.from_connection(connection)


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_connection(
    connection_id: ConnectionId,
    session: SessionDep,
    runtime: RuntimeDep,
    admin: CurrentAdmin,
    background: BackgroundTasks,
) -> Response:
    """Delete a connection with its records and runs."""
    await service.delete_connection(session, connection_id=connection_id, actor=admin.name)
    background.add_task(runtime.refresh_schedule)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{connection_id}/test")
async def test_connection(
    connection_id: ConnectionId, session: SessionDep, runtime: RuntimeDep, _: CurrentOperator
) -> TestResultOut:
    """Check that the source answers and the credentials carry the needed rights."""
    connection = await service.get_connection(session, connection_id)
    result = await runtime.test_connection(connection)
    return TestResultOut.model_validate(result, from_attributes=True)


@router.get("/{connection_id}/discover")
async def discover(
    connection_id: ConnectionId, session: SessionDep, runtime: RuntimeDep, _: CurrentViewer
) -> list[StreamOut]:
    """The connection's streams with their fields, types and sensitivity."""
    connection = await service.get_connection(session, connection_id)
    streams = await runtime.discover(connection)
    return [
        StreamOut(
            name=s.name,
            entity=str(s.entity),
            primary_key=s.primary_key,
            replication_key=s.replication_key,
            fields=[
                FieldOut(
                    name=f.name,
                    type=f.type,
                    sensitivity=f.sensitivity.label,
                    description=f.description,
                )
                for f in s.fields
            ],
        )
        for s in streams
    ]


@router.post("/{connection_id}/sync", status_code=status.HTTP_202_ACCEPTED)
async def trigger_sync(
    connection_id: ConnectionId,
    runtime: RuntimeDep,
    operator: CurrentOperator,
    mode: Annotated[Literal["full", "incremental"], Query()] = "incremental",
    force: Annotated[
        bool,
        Query(
            description="Apply a full run even if it would delete more than "
            "PIP_SYNC_MAX_DELETE_FRACTION of a stream's records"
        ),
    ] = False,
) -> SyncStarted:
    """Start a sync in the background; poll ``status_url`` for its progress."""
    run_id = await runtime.trigger_sync(connection_id, mode=mode, actor=operator.name, force=force)
    return SyncStarted(
        run_id=run_id,
        connection_id=connection_id,
        mode=mode,
        status_url=f"/api/v1/sync-runs/{run_id}",
    )


@router.post("/{connection_id}/sync/cancel")
async def cancel_sync(
    connection_id: ConnectionId, runtime: RuntimeDep, operator: CurrentOperator
) -> SyncCancelled:
    """Ask the running sync of a connection to stop (its changes are rolled back)."""
    cancelled = await runtime.cancel_sync(connection_id, actor=operator.name)
    return SyncCancelled(connection_id=connection_id, cancelled=cancelled)


@router.get("/{connection_id}/runs")
async def list_connection_runs(
    request: Request,
    connection_id: ConnectionId,
    session: SessionDep,
    _: CurrentViewer,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: RunStatus | None = None,
) -> Page[SyncRunOut]:
    """The connection's runs, newest first."""
    await service.get_connection(session, connection_id)
    query = runs_query(connection_id, status)
    rows, next_cursor = await fetch_page(session, query, SyncRun.id, limit=limit, cursor=cursor)
    return make_page(request, rows, next_cursor, SyncRunOut.of)
