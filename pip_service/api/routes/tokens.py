"""Admin: API tokens (create: plaintext shown once; list; revoke)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from pip_service.api.deps import STRICT_QUERY, CurrentAdmin, RuntimeDep, SessionDep
from pip_service.api.pagination import Cursor, Limit, Page, fetch_page, make_page
from pip_service.api.problems import PROBLEM_RESPONSES
from pip_service.auth import service
from pip_service.auth.models import ApiToken
from pip_service.auth.roles import Role

router = APIRouter(
    prefix="/api/v1/tokens",
    tags=["tokens"],
    responses=PROBLEM_RESPONSES,
    dependencies=[STRICT_QUERY],
)

TokenId = Annotated[int, Path(ge=1, le=2**62)]


class TokenCreate(BaseModel):
    """A token to create."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1,
        max_length=200,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._@:-]*$",
        description="Who or what uses it; shown as the actor in the audit log",
    )
    role: Role = Field(description="admin, operator, viewer, or opal (reads /opal/* only)")


class TokenOut(BaseModel):
    """A stored token (never its value)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    prefix: str = Field(description="The first characters of the token, to recognize it")
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    """A token just created: ``token`` is shown this once and never again."""

    token: str


@router.post("", status_code=status.HTTP_201_CREATED)
async def create_token(body: TokenCreate, session: SessionDep, admin: CurrentAdmin) -> TokenCreated:
    """Create a token; the response holds its only copy of the plaintext."""
    issued = await service.create_token(session, name=body.name, role=body.role, actor=admin.name)
    out = TokenOut.model_validate(issued.row)
    return TokenCreated(**out.model_dump(), token=issued.plaintext)


@router.get("")
async def list_tokens(
    request: Request,
    session: SessionDep,
    _: CurrentAdmin,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[TokenOut]:
    """Tokens, newest first."""
    rows, next_cursor = await fetch_page(
        session, select(ApiToken), ApiToken.id, limit=limit, cursor=cursor
    )
    return make_page(request, rows, next_cursor, TokenOut.model_validate)


@router.delete("/{token_id}")
async def revoke_token(
    token_id: TokenId, session: SessionDep, runtime: RuntimeDep, admin: CurrentAdmin
) -> TokenOut:
    """Revoke a token: it stops working at once on this replica, within seconds elsewhere."""
    row = await service.revoke_token(session, token_id=token_id, actor=admin.name)
    runtime.auth.forget()
    return TokenOut.model_validate(row)
