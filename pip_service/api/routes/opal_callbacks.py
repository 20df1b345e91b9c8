"""``POST /opal/callbacks/updates``: OPAL clients report which updates they applied."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from sqlalchemy import select

from opal.deliveries import OpalPublication, record_report
from opal.models import DataUpdateReport
from opal.publisher import document_of_dst
from pip_service.api.deps import OpalReader, RuntimeDep
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.db.session import transaction

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/opal/callbacks", tags=["opal"], responses=PROBLEM_RESPONSES)


@router.post("/updates", status_code=204, summary="A client's DataUpdateReport")
async def update_report(
    report: DataUpdateReport, request: Request, runtime: RuntimeDep, _reader: OpalReader
) -> None:
    """Record the report; a document a client could not save is published again in full."""
    client = request.client.host if request.client else "unknown"
    client = f"{client} {request.headers.get('user-agent', '')}".strip()
    async with transaction(runtime.sessions) as session:
        await record_report(session, report, client)
        known = await session.scalar(
            select(OpalPublication.document).where(
                OpalPublication.update_id == (report.update_id or "")
            )
        )
    failed = {document_of_dst(item.entry.dst_path) for item in report.reports if not item.saved} - {
        None
    }
    for name in sorted(n for n in failed if n is not None and known is not None):
        logger.warning("an OPAL client could not apply update %s of %s", report.update_id, name)
        await runtime.publisher.heal(name)
