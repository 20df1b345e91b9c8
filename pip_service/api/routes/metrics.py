"""Ops: Prometheus metrics (unauthenticated, like most scrape targets; expose it internally)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from pip_service.api.deps import STRICT_QUERY, RuntimeDep

router = APIRouter(tags=["ops"], dependencies=[STRICT_QUERY])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus metrics (text exposition format)."""
    async with runtime.sessions() as session:
        await runtime.metrics.refresh(session)
    return Response(runtime.metrics.render(), media_type=CONTENT_TYPE_LATEST)
