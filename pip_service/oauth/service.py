"""Connect flows: start (authorize URL, flow row, admin cookie), finish (callback), disconnect.

``OAuthService`` is made once per runtime. ``finish`` checks, in order: the
state's signature and expiry, the admin cookie against the admin in the state,
single use (an atomic ``UPDATE ... WHERE used_at IS NULL`` on the flow row),
the provider's ``error``, then the RFC 9207 ``iss`` against the provider's
issuer, and only then exchanges the code. Every failure names its reason and
writes no token.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

import httpx
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.base.connector import ConnectionTestResult
from pip_service.audit.service import record_event
from pip_service.auth.roles import Principal
from pip_service.config import Settings, oauth_redirect_uri
from pip_service.connections.models import Connection
from pip_service.connections.service import get_connection, load_connector
from pip_service.db.session import transaction
from pip_service.errors import PipError, SourceAuthError
from pip_service.logging import redact
from pip_service.oauth.clients import Implementations
from pip_service.oauth.errors import OAuthFlowError, ReconnectNeededError
from pip_service.oauth.implementations import OAuth2Implementation, TokenSet
from pip_service.oauth.models import OAuthFlow, OAuthToken
from pip_service.oauth.state import AdminBinding, FlowState, StateSigner
from pip_service.oauth.tokens import ConnectionTokenProvider, TokenService, save_tokens, unseal
from pip_service.secrets.crypto import KeyRing

logger = logging.getLogger(__name__)

ADMIN_COOKIE = "pip_oauth_admin"
_ERROR_CODE = re.compile(r"^[a-z_]{1,64}$")
_services: WeakKeyDictionary[async_sessionmaker[AsyncSession], TokenService] = WeakKeyDictionary()


@dataclass(frozen=True)
class Started:
    """Where to send the browser, and the admin cookie to set."""

    url: str
    cookie: str
    cookie_max_age: int


@dataclass(frozen=True)
class Finished:
    """A connect flow that stored its tokens, with the connection test's result."""

    connection_id: int
    connection_name: str
    provider: str
    test: ConnectionTestResult


class OAuthService:
    """Connect flows and token upkeep for one runtime."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], keyring: KeyRing,
        *, transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:  # fmt: skip
        self.settings = settings
        self.sessions = sessions
        self.keyring = keyring
        self.redirect_uri = oauth_redirect_uri(settings)
        self.signer = StateSigner(keyring)
        self.implementations = Implementations(
            sessions, keyring, self.redirect_uri, transport=transport
        )
        self.tokens = TokenService(
            sessions, keyring, self.implementations.for_connection,
            margin=settings.oauth_refresh_margin_seconds,
        )  # fmt: skip
        _services[sessions] = self.tokens

    async def start(self, connection_id: int, admin: Principal) -> Started:
        """Record a flow and return the provider URL (PKCE S256, signed state, nonce)."""
        implementation = await self.implementations.for_connection(connection_id)
        verifier, nonce, flow_id = (secrets.token_urlsafe(48), secrets.token_urlsafe(16),
                                    secrets.token_urlsafe(24))  # fmt: skip
        ttl = self.settings.oauth_state_ttl_seconds
        expires = time.time() + ttl
        await self._record_flow(flow_id, connection_id, admin, verifier, expires)
        state = FlowState(flow_id, connection_id, admin.name, admin.token_id, nonce, expires)
        url = await implementation.authorize_url(
            state=self.signer.sign_state(state), code_verifier=verifier, nonce=nonce
        )
        cookie = self.signer.sign_admin(AdminBinding(admin.name, admin.token_id, expires))
        return Started(url=url, cookie=cookie, cookie_max_age=ttl)

    async def finish(self, params: dict[str, str], cookie: str | None) -> Finished:
        """Validate the callback, exchange the code, store the tokens, test the connection."""
        state = self.signer.verify_state(params.get("state"))
        self._check_admin(state, cookie)
        verifier = await self._consume(state)
        implementation = await self.implementations.for_connection(state.connection_id)
        _check_error(params)
        await _check_issuer(implementation, params.get("iss"))
        tokens = await _exchange(implementation, params.get("code"), verifier)
        connection = await self._store(state, implementation.name, tokens)
        test = await self.test(connection)
        return Finished(connection.id, connection.name, implementation.name, test)

    async def disconnect(self, connection_id: int, *, actor: str) -> tuple[bool, bool]:
        """Revoke at the provider when it can (RFC 7009) and delete the tokens."""
        async with self.sessions() as session:
            row = await session.get(OAuthToken, connection_id)
        if row is None:
            return False, False
        revoked = await self._revoke(connection_id, unseal(self.keyring, row))
        async with transaction(self.sessions) as session:
            await session.execute(
                delete(OAuthToken).where(OAuthToken.connection_id == connection_id)
            )
            await record_event(
                session, actor=actor, action="oauth.disconnect", target_type="connection",
                target_id=connection_id, details={"revoked": revoked},
            )  # fmt: skip
        return revoked, True

    async def test(self, connection: Connection) -> ConnectionTestResult:
        """The connector's own test, with the stored token."""
        provider = self.tokens.provider(connection.id)
        async with httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)) as http:
            connector = load_connector(
                connection, keyring=self.keyring, http_client=http, token_provider=provider
            )
            try:
                result = await connector.test_connection()
            finally:
                await connector.aclose()
        return ConnectionTestResult(**{**result.__dict__, "message": redact(result.message)})

    def _check_admin(self, state: FlowState, cookie: str | None) -> None:
        binding = self.signer.verify_admin(cookie)
        if binding is None or (binding.actor, binding.actor_token_id) != (
            state.actor,
            state.actor_token_id,
        ):
            raise OAuthFlowError("wrong_admin", connection_id=state.connection_id)

    async def _record_flow(
        self, flow_id: str, connection_id: int, admin: Principal, verifier: str, expires: float
    ) -> None:
        async with transaction(self.sessions) as session:
            await get_connection(session, connection_id)
            session.add(OAuthFlow(
                id=flow_id, connection_id=connection_id, actor=admin.name,
                actor_token_id=admin.token_id, key_id=self.keyring.primary_key_id,
                verifier_blob=self.keyring.encrypt(verifier.encode(), context=flow_id.encode()),
                expires_at=datetime.fromtimestamp(expires, UTC),
            ))  # fmt: skip

    async def _consume(self, state: FlowState) -> str:
        """Mark the flow used (once only) and return its PKCE verifier."""
        async with transaction(self.sessions) as session:
            claimed = await session.execute(
                update(OAuthFlow)
                .where(OAuthFlow.id == state.flow_id, OAuthFlow.used_at.is_(None),
                       OAuthFlow.connection_id == state.connection_id)
                .values(used_at=datetime.now(UTC))
            )  # fmt: skip
            if getattr(claimed, "rowcount", 0) != 1:
                raise OAuthFlowError("state_replayed", connection_id=state.connection_id)
            flow = await session.get(OAuthFlow, state.flow_id)
            assert flow is not None
            blob = flow.verifier_blob
        return self.keyring.decrypt(blob, context=state.flow_id.encode()).decode()

    async def _store(self, state: FlowState, provider: str, tokens: TokenSet) -> Connection:
        async with transaction(self.sessions) as session:
            connection = await get_connection(session, state.connection_id)
            await save_tokens(
                session, self.keyring, connection_id=connection.id, provider=provider,
                tokens=tokens, actor=state.actor,
            )  # fmt: skip
            connection.state, connection.state_reason = "active", None
            await record_event(
                session, actor=state.actor, action="oauth.connect", target_type="connection",
                target_id=connection.id,
                details={"provider": provider, "scopes": list(tokens.scopes)},
            )  # fmt: skip
        return connection

    async def _revoke(self, connection_id: int, tokens: TokenSet) -> bool:
        try:
            implementation = await self.implementations.for_connection(connection_id)
            return await implementation.revoke(tokens)
        except PipError as err:
            logger.warning("could not revoke the tokens of connection %s: %s", connection_id, err)
            return False


def token_provider_for(
    sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, connection_id: int
) -> ConnectionTokenProvider:
    """The token provider of a connection (sharing the process's refresh locks)."""
    service = _services.get(sessions)
    if service is None:  # a process without the API (CLI sync): refresh-only token upkeep
        implementations = Implementations(sessions, keyring, redirect_uri="")
        service = _services[sessions] = TokenService(
            sessions, keyring, implementations.for_connection
        )
    return service.provider(connection_id)


def _check_error(params: dict[str, str]) -> None:
    error = params.get("error")
    if error is None:
        return
    named = error if _ERROR_CODE.match(error) else "unknown"
    raise OAuthFlowError("access_denied" if named == "access_denied" else "provider_error", named)


async def _check_issuer(implementation: OAuth2Implementation, iss: str | None) -> None:
    metadata = await implementation.metadata()
    if iss is None and not metadata.iss_parameter_supported:
        return
    if iss is None or metadata.issuer is None or iss != metadata.issuer:
        raise OAuthFlowError("issuer_mismatch")


async def _exchange(
    implementation: OAuth2Implementation, code: str | None, verifier: str
) -> TokenSet:
    if not code:
        raise OAuthFlowError("provider_error", "no authorization code")
    try:
        return await implementation.exchange_code(code=code, code_verifier=verifier)
    except ReconnectNeededError as err:
        raise OAuthFlowError("code_rejected") from err
    except SourceAuthError as err:
        raise OAuthFlowError("provider_error", str(err.details.get("provider_error", ""))) from err


def flow_details(err: OAuthFlowError) -> dict[str, Any]:
    """What the result page may show of a failure."""
    return {"reason": err.reason, "message": err.message}
