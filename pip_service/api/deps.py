"""Dependency aliases for routes: the runtime, a DB session, and who is calling.

``CurrentViewer`` / ``CurrentOperator`` / ``CurrentAdmin`` authenticate an
admin-API bearer token and require at least that role (401 without a known
token, 403 when the role is too low). ``OpalReader`` accepts only OPAL read
tokens, for the ``/opal/*`` router.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from pip_service.auth.roles import Principal, Role
from pip_service.errors import ForbiddenError
from pip_service.runtime import Runtime

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer pip_...`")
_opal_bearer = HTTPBearer(
    auto_error=False, scheme_name="OpalBearer", description="An OPAL read token"
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
OpalCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_opal_bearer)]


def get_runtime(request: Request) -> Runtime:
    """The runtime the app was created with."""
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]

# Ids in paths are bounded so an absurd number is a 422, never a database overflow.
ConnectionId = Annotated[int, Path(ge=1, le=2**62)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, committed before the response is sent."""
    async with runtime.sessions() as session, session.begin():
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def current_principal(runtime: RuntimeDep, credentials: Credentials) -> Principal:
    """The caller of the admin API (any role but ``opal``)."""
    token = credentials.credentials if credentials else None
    return await runtime.auth.admin_principal(token)


def require(role: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that requires at least ``role``."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has_role(role):
            raise ForbiddenError(
                f"This needs the {role.value} role; the token has {principal.role}"
            )
        return principal

    return check


async def opal_reader(runtime: RuntimeDep, credentials: OpalCredentials) -> Principal:
    """The caller of ``/opal/*``: an OPAL read token only."""
    token = credentials.credentials if credentials else None
    return await runtime.auth.opal_principal(token)


CurrentViewer = Annotated[Principal, Depends(require(Role.VIEWER))]
CurrentOperator = Annotated[Principal, Depends(require(Role.OPERATOR))]
CurrentAdmin = Annotated[Principal, Depends(require(Role.ADMIN))]
OpalReader = Annotated[Principal, Depends(opal_reader)]


def _query_names(dependant: Dependant) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


_QUERY_NAMES: dict[int, frozenset[str]] = {}


async def reject_unknown_query(request: Request) -> None:
    """422 naming any query parameter the route does not declare (typos are not ignored)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _QUERY_NAMES.get(id(route))
    if known is None:
        known = _QUERY_NAMES[id(route)] = frozenset(_query_names(route.dependant))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise RequestValidationError(
            [{"loc": ("query", name), "msg": "Unknown query parameter", "type": "extra_forbidden"}
             for name in unknown]
        )  # fmt: skip


STRICT_QUERY = Depends(reject_unknown_query)
