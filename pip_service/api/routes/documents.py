"""Admin: the policy documents with revision, ETag, size, freshness and sources."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from pip_service.api.deps import STRICT_QUERY, CurrentViewer, RuntimeDep
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.documents import catalog
from pip_service.documents.schemas import DocumentInfo
from pip_service.errors import NotFoundError

router = APIRouter(
    prefix="/api/v1/documents",
    tags=["documents"],
    responses=PROBLEM_RESPONSES,
    dependencies=[STRICT_QUERY],
)


class SourceOut(BaseModel):
    """A connection feeding a document, and its last successful refresh."""

    connection_id: int
    name: str
    connector: str
    last_success_at: datetime


class DocumentOut(BaseModel):
    """A document as admins see it (not its body: OPAL reads that from /opal/pip-data)."""

    name: str
    dst_path: str
    built: bool
    revision: int
    etag: str | None
    sensitivity: str | None
    ttl_seconds: int | None
    stale_action: str | None
    size: int
    size_gz: int
    entity_count: int
    built_at: datetime | None
    refreshed_at: datetime | None
    expires_at: datetime | None
    stale: bool
    sources: list[SourceOut]

    @classmethod
    def of(cls, info: DocumentInfo) -> DocumentOut:
        """The API shape of the documents service's listing entry."""
        return cls(
            name=info.name, dst_path=info.dst_path, built=info.built, revision=info.revision,
            etag=info.etag, sensitivity=info.sensitivity.label if info.sensitivity else None,
            ttl_seconds=info.ttl_seconds, stale_action=info.stale_action, size=info.size,
            size_gz=info.size_gz, entity_count=info.entity_count, built_at=info.built_at,
            refreshed_at=info.refreshed_at, expires_at=info.expires_at, stale=info.stale,
            sources=[SourceOut(**vars(mark)) for mark in info.sources],
        )  # fmt: skip


@router.get("")
async def list_documents(runtime: RuntimeDep, _: CurrentViewer) -> list[DocumentOut]:
    """Every document, built or not yet."""
    return [DocumentOut.of(info) for info in await runtime.documents.list()]


@router.get("/{name:path}")
async def get_document_info(name: str, runtime: RuntimeDep, _: CurrentViewer) -> DocumentOut:
    """One document's revision, ETag, size, freshness and sources (e.g. ``identity/users``)."""
    catalog.check_name(name)
    for info in await runtime.documents.list():
        if info.name == name:
            return DocumentOut.of(info)
    raise NotFoundError(f"No document named {name!r}")
