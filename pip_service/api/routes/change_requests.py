"""Operator: create change requests in an ITSM connection from deployment intents."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from pip_service.api.deps import CurrentOperator, CurrentViewer, RuntimeDep, SessionDep
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.changes.schemas import ChangeRequestCreate, ChangeRequestOut
from pip_service.changes.service import create_change_request, get_change_request

router = APIRouter(
    prefix="/api/v1/change-requests", tags=["change requests"], responses=PROBLEM_RESPONSES
)

Key = Annotated[str, Path(pattern=r"^[A-Za-z0-9._:@/-]{1,200}$")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ChangeRequestOut,
    responses={200: {"model": ChangeRequestOut, "description": "A replay: the change made before"}},
)
async def create(
    body: ChangeRequestCreate, runtime: RuntimeDep, principal: CurrentOperator, response: Response
) -> ChangeRequestOut:
    """Create the change for a deployment intent; the same idempotency key returns the same one."""
    link, replayed = await create_change_request(
        runtime=runtime, request=body, actor=principal.name
    )
    if replayed:
        response.status_code = status.HTTP_200_OK
    return ChangeRequestOut.model_validate(link)


@router.get("/{key:path}", response_model=ChangeRequestOut)
async def read(key: Key, session: SessionDep, principal: CurrentViewer) -> ChangeRequestOut:
    """The change request stored for an idempotency key."""
    return ChangeRequestOut.model_validate(await get_change_request(session, key))
