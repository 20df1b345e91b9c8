"""OAuth connect flows: configure the client, authorize, the one callback, status, disconnect.

The callback answers with a small HTML page that says what happened; it never
shows a token, a code or a secret. It is not behind bearer auth (the browser
arrives from the provider): the signed state and the admin cookie set at
authorize time authenticate it.
"""

from __future__ import annotations

import html
import logging
from typing import Annotated
from weakref import WeakKeyDictionary

from fastapi import APIRouter, Cookie, Depends, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from connectors.base import registry
from pip_service.api.deps import (
    STRICT_QUERY,
    ConnectionId,
    CurrentAdmin,
    CurrentViewer,
    RuntimeDep,
    SessionDep,
)
from pip_service.api.problems import PROBLEM_RESPONSES, problem_responses
from pip_service.audit.service import record_event
from pip_service.connections import service as connections
from pip_service.connections.config import validate_config
from pip_service.oauth.clients import configure_client
from pip_service.oauth.errors import OAuthFlowError
from pip_service.oauth.models import OAuthClient, OAuthToken
from pip_service.oauth.schemas import DisconnectOut, OAuthClientIn, OAuthStatusOut, SecretRefIn
from pip_service.oauth.service import ADMIN_COOKIE, Finished, OAuthService
from pip_service.runtime import Runtime
from pip_service.secrets.refs import resolve as resolve_refs

logger = logging.getLogger(__name__)

router = APIRouter(tags=["oauth"], responses=PROBLEM_RESPONSES)
_services: WeakKeyDictionary[Runtime, OAuthService] = WeakKeyDictionary()


def get_oauth(runtime: RuntimeDep) -> OAuthService:
    """The runtime's OAuth service (made on first use)."""
    service = _services.get(runtime)
    if service is None:
        service = _services[runtime] = OAuthService(
            runtime.settings, runtime.sessions, runtime.keyring
        )
    return service


OAuthDep = Annotated[OAuthService, Depends(get_oauth)]
API = "/api/v1/connections/{connection_id}"


@router.put(f"{API}/oauth/client", dependencies=[STRICT_QUERY])
async def put_client(
    connection_id: ConnectionId, body: OAuthClientIn, session: SessionDep, runtime: RuntimeDep,
    admin: CurrentAdmin,
) -> OAuthStatusOut:  # fmt: skip
    """Set the OAuth client (preset, client id, secret stored encrypted, parameters, scopes)."""
    connection = await connections.get_connection(session, connection_id)
    await configure_client(session, runtime.keyring, connection=connection, request=body)
    await record_event(
        session, actor=admin.name, action="oauth.client", target_type="connection",
        target_id=connection_id, details={"provider": body.provider, "client_id": body.client_id},
    )  # fmt: skip
    return await _status(session, connection_id)


@router.get(f"{API}/oauth", dependencies=[STRICT_QUERY])
async def get_status(
    connection_id: ConnectionId, session: SessionDep, _: CurrentViewer
) -> OAuthStatusOut:
    """Whether the connection is connected, with which scopes, until when."""
    return await _status(session, connection_id)


@router.get(f"{API}/oauth/authorize", status_code=302, dependencies=[STRICT_QUERY])
async def authorize(
    connection_id: ConnectionId, oauth: OAuthDep, admin: CurrentAdmin
) -> RedirectResponse:
    """Redirect to the provider (PKCE S256, signed single-use state, admin cookie)."""
    started = await oauth.start(connection_id, admin)
    response = RedirectResponse(started.url, status_code=status.HTTP_302_FOUND)
    response.set_cookie(
        ADMIN_COOKIE, started.cookie, max_age=started.cookie_max_age, path="/oauth",
        httponly=True, samesite="lax", secure=oauth.redirect_uri.startswith("https://"),
    )  # fmt: skip
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(
    "/oauth/callback",
    response_class=HTMLResponse,
    responses={
        400: {"description": "The flow failed: a page naming why", "content": {"text/html": {}}},
        **problem_responses(422),
    },
)
async def callback(
    request: Request,
    oauth: OAuthDep,
    admin_cookie: Annotated[str | None, Cookie(alias=ADMIN_COOKIE)] = None,
) -> HTMLResponse:
    """The one redirect target of every provider: finish the flow and say what happened."""
    params = dict(request.query_params)
    try:
        finished = await oauth.finish(params, admin_cookie)
    except OAuthFlowError as err:
        logger.warning("OAuth callback failed: %s", err.reason)
        return _page(400, "Connection failed", f"{err.message}", err.reason)
    return _success_page(finished)


@router.delete(f"{API}/oauth", dependencies=[STRICT_QUERY])
async def disconnect(
    connection_id: ConnectionId, session: SessionDep, oauth: OAuthDep, admin: CurrentAdmin
) -> DisconnectOut:
    """Revoke the tokens at the provider (RFC 7009, when it can) and delete them."""
    await connections.get_connection(session, connection_id)
    revoked, deleted = await oauth.disconnect(connection_id, actor=admin.name)
    return DisconnectOut(connection_id=connection_id, revoked=revoked, deleted=deleted)


@router.put(f"{API}/secret-ref", dependencies=[STRICT_QUERY])
async def put_secret_ref(
    connection_id: ConnectionId, body: SecretRefIn, session: SessionDep, runtime: RuntimeDep,
    admin: CurrentAdmin,
) -> Response:  # fmt: skip
    """Use an external secret (env:, file:, vault:) instead of stored ones; null clears it."""
    connection = await connections.get_connection(session, connection_id)
    if body.secret_ref:
        fields = resolve_refs(body.secret_ref)  # read now: a wrong reference is refused here
        merged = {
            **connection.config,
            **connections.connection_secrets(connection, runtime.keyring),
            **fields,
        }
        validate_config(registry.get_connector_class(connection.connector_type), merged)
    connection.secret_ref = body.secret_ref or None
    await record_event(
        session, actor=admin.name, action="connection.secret_ref", target_type="connection",
        target_id=connection_id, details={"secret_ref": connection.secret_ref},
    )  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _status(session: SessionDep, connection_id: int) -> OAuthStatusOut:
    connection = await connections.get_connection(session, connection_id)
    client = await session.get(OAuthClient, connection_id)
    token = await session.get(OAuthToken, connection_id)
    return OAuthStatusOut(
        connection_id=connection_id, provider=client.provider if client else None,
        client_id=client.client_id if client else None, grant=client.grant if client else None,
        scopes=list(token.scopes if token else client.scopes if client else []),
        connected=token is not None, has_refresh_token=bool(token and token.has_refresh_token),
        expires_at=token.expires_at if token else None,
        connected_by=token.connected_by if token else None,
        refreshed_at=token.refreshed_at if token else None,
        state=connection.state, state_reason=connection.state_reason,
    )  # fmt: skip


def _success_page(finished: Finished) -> HTMLResponse:
    name = finished.connection_name
    if finished.test.ok:
        text = (
            f"{name} is connected to {finished.provider}. Connection test: {finished.test.message}"
        )
        return _page(200, "Connected", text, "connected")
    text = (f"{name} is connected to {finished.provider}, but the connection test failed: "
            f"{finished.test.message}")  # fmt: skip
    return _page(200, "Connected, test failed", text, "test_failed")


def _page(code: int, title: str, text: str, outcome: str) -> HTMLResponse:
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title></head><body>"
        f"<h1>{html.escape(title)}</h1><p id=message>{html.escape(text)}</p>"
        f"<p>Outcome: <code id=outcome>{html.escape(outcome)}</code></p>"
        "<p>You can close this window.</p></body></html>"
    )
    headers = {"Cache-Control": "no-store", "X-OAuth-Outcome": outcome}
    return HTMLResponse(body, status_code=code, headers=headers)
