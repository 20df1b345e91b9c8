"""Refresh now: rebuild and publish a document, or sync a connection then publish."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from opal.publisher import Publication
from pip_service.api.deps import ConnectionId, CurrentOperator, RuntimeDep
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.audit.service import record_event
from pip_service.db.session import transaction
from pip_service.documents import catalog

router = APIRouter(prefix="/api/v1", tags=["refresh"], responses=PROBLEM_RESPONSES)


class PublicationOut(BaseModel):
    """A DataUpdate sent to OPAL."""

    update_id: str
    document: str
    revision: int
    kind: str
    size: int
    ok: bool


class DocumentRefreshOut(BaseModel):
    """What a document refresh did."""

    name: str
    revision: int
    changed: bool
    published: PublicationOut | None


class ConnectionRefreshOut(BaseModel):
    """What a connection refresh did."""

    connection_id: int
    run_id: int
    status: str
    changed_entities: list[str]
    published: list[PublicationOut]


def _out(publication: Publication | None) -> PublicationOut | None:
    return PublicationOut(**vars(publication)) if publication is not None else None


@router.post("/documents/{name:path}/refresh", summary="Rebuild a document and push it to OPAL")
async def refresh_document(
    name: str, runtime: RuntimeDep, principal: CurrentOperator
) -> DocumentRefreshOut:
    """Rebuild ``name`` from the stored records and make every OPAL client refetch it."""
    spec = catalog.get_spec(name)
    results = await runtime.documents.rebuild([kind.value for kind in spec.entities])
    result = next(r for r in results if r.name == name)
    published = await runtime.publisher.publish_document(name, reason="refresh", refetch=True)
    async with transaction(runtime.sessions) as session:
        await record_event(
            session, actor=principal.name, action="document.refresh", target_type="document",
            target_id=None, details={"name": name, "revision": result.revision},
        )  # fmt: skip
    return DocumentRefreshOut(
        name=name, revision=result.revision, changed=result.changed, published=_out(published)
    )


@router.post("/connections/{connection_id}/refresh", summary="Sync a connection, then publish")
async def refresh_connection(
    connection_id: ConnectionId, runtime: RuntimeDep, principal: CurrentOperator
) -> ConnectionRefreshOut:
    """Run an incremental sync now (waiting for it) and publish what changed."""
    before = runtime.publisher.mark()
    result = await runtime.run_connection(connection_id, mode="incremental", trigger="refresh")
    async with transaction(runtime.sessions) as session:
        await record_event(
            session, actor=principal.name, action="connection.refresh", target_type="connection",
            target_id=connection_id, details={"run_id": result.run_id, "status": result.status},
        )  # fmt: skip
    return ConnectionRefreshOut(
        connection_id=connection_id, run_id=result.run_id, status=result.status,
        changed_entities=sorted(result.changed_entities),
        published=[PublicationOut(**vars(p)) for p in runtime.publisher.since(before)],
    )  # fmt: skip
