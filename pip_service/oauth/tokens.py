"""Stored OAuth tokens: sealed at rest, refreshed ahead of expiry under a per-connection lock.

The tokens of a connection are one AES-256-GCM envelope (access token, refresh
token, expiry, scopes) in ``oauth_tokens``, bound to the connection id as
associated data. A refresh happens once per connection however many jobs and
replicas ask at the same moment: an in-process ``asyncio.Lock`` first, then the
row itself is locked for the refresh transaction (a no-op ``UPDATE`` holds a
PostgreSQL row lock, and SQLite's single writer lock), the row is read again,
and only if the token is still the stale one does the provider get called. The
rotated refresh token is saved in that same transaction. ``invalid_grant``
deletes the dead tokens and flips the connection to ``needs_reconnect`` with a
reason (the scheduler skips it; the API and the state gauge show it).

The sync engine's lock provider does not fit here: it is non-blocking and is
held by the very sync run that asks for a token.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pip_service.audit.service import record_event
from pip_service.connections.models import Connection
from pip_service.logging import register_secret
from pip_service.oauth.errors import ReconnectNeededError
from pip_service.oauth.implementations import OAuth2Implementation, TokenSet
from pip_service.oauth.models import OAuthToken
from pip_service.secrets.crypto import KeyRing

logger = logging.getLogger(__name__)

Resolver = Callable[[int], Awaitable[OAuth2Implementation]]
Clock = Callable[[], float]
NEEDS_RECONNECT = "needs_reconnect"


def token_context(connection_id: int) -> bytes:
    """Associated data binding a token envelope to its connection."""
    return f"oauth-token:{connection_id}".encode()


def seal(keyring: KeyRing, connection_id: int, tokens: TokenSet) -> bytes:
    """The envelope of a connection's tokens."""
    return keyring.encrypt(tokens.to_json(), context=token_context(connection_id))


def unseal(keyring: KeyRing, row: OAuthToken) -> TokenSet:
    """The tokens of a stored row (registered for log redaction)."""
    tokens = TokenSet.from_json(
        keyring.decrypt(row.token_blob, context=token_context(row.connection_id))
    )
    register_secret(tokens.access_token)
    register_secret(tokens.refresh_token)
    return tokens


async def save_tokens(
    session: AsyncSession, keyring: KeyRing, *, connection_id: int, provider: str,
    tokens: TokenSet, actor: str | None,
) -> OAuthToken:  # fmt: skip
    """Insert or replace a connection's tokens (sealed) in the caller's transaction."""
    row = await session.get(OAuthToken, connection_id) or OAuthToken(connection_id=connection_id)
    row.provider, row.connected_by, row.generation = provider, actor, 1
    _fill(row, keyring, tokens)
    session.add(row)
    await session.flush()
    return row


def _fill(row: OAuthToken, keyring: KeyRing, tokens: TokenSet) -> None:
    row.token_blob = seal(keyring, row.connection_id, tokens)
    row.key_id = keyring.primary_key_id
    row.expires_at = _datetime(tokens.expires_at)
    row.scopes = list(tokens.scopes)
    row.has_refresh_token = bool(tokens.refresh_token)


class TokenService:
    """Fresh access tokens for connections, refreshed once under a lock."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], keyring: KeyRing, resolver: Resolver,
        *, margin: float = 120.0, clock: Clock = time.time,
    ) -> None:  # fmt: skip
        self.sessions = sessions
        self.keyring = keyring
        self.resolver = resolver
        self.margin = margin
        self.clock = clock
        self.refreshes = 0
        self._locks: dict[int, asyncio.Lock] = {}

    async def access_token(self, connection_id: int, *, rejected: str | None = None) -> str:
        """A valid access token; refreshed first when expiring or equal to ``rejected``."""
        tokens = await self.load(connection_id)
        if self.is_fresh(tokens) and tokens.access_token != rejected:
            return tokens.access_token
        async with self._locks.setdefault(connection_id, asyncio.Lock()):
            return await self._refresh_once(connection_id, stale=tokens.access_token)

    async def load(self, connection_id: int) -> TokenSet:
        """The stored tokens; ReconnectNeededError when the connection has none."""
        async with self.sessions() as session:
            row = await session.get(OAuthToken, connection_id)
        if row is None:
            raise ReconnectNeededError(
                f"connection {connection_id} is not connected through OAuth: connect it first"
            )
        return unseal(self.keyring, row)

    def is_fresh(self, tokens: TokenSet) -> bool:
        """Whether the access token is good for longer than the refresh margin."""
        if tokens.expires_at is None:
            return True
        lifetime = max(tokens.expires_at - tokens.obtained_at, 0.0)
        return self.clock() < tokens.expires_at - min(self.margin, lifetime / 2)

    def provider(self, connection_id: int) -> ConnectionTokenProvider:
        """The connector-side token provider of a connection."""
        return ConnectionTokenProvider(self, connection_id)

    async def _refresh_once(self, connection_id: int, *, stale: str) -> str:
        implementation = await self.resolver(connection_id)
        failure: tuple[str, ReconnectNeededError] | None = None
        async with self.sessions() as session, session.begin():
            row = await _locked_row(session, connection_id)
            tokens = unseal(self.keyring, row)
            if tokens.access_token != stale and self.is_fresh(tokens):
                return tokens.access_token  # another job or replica refreshed it meanwhile
            try:
                fresh = await implementation.refresh(tokens)
            except ReconnectNeededError as err:
                reason = await _mark_reconnect(session, connection_id, implementation.name, err)
                failure = (reason, err)
            else:
                return await self._store_refreshed(row, fresh)
        assert failure is not None  # committed: the connection now says needs_reconnect
        reason, refused = failure
        raise ReconnectNeededError(reason, **refused.details) from refused

    async def _store_refreshed(self, row: OAuthToken, fresh: TokenSet) -> str:
        _fill(row, self.keyring, fresh)
        row.generation += 1
        row.refreshed_at = datetime.now(UTC)
        self.refreshes += 1
        register_secret(fresh.access_token)
        register_secret(fresh.refresh_token)
        logger.info("refreshed the OAuth token of connection %s", row.connection_id)
        return fresh.access_token


class ConnectionTokenProvider:
    """``connectors.base.auth.TokenProvider`` for one connection's stored tokens."""

    def __init__(self, service: TokenService, connection_id: int) -> None:
        self.service = service
        self.connection_id = connection_id
        self._rejected: str | None = None

    async def token(self) -> str:
        """A valid access token (refreshed when expiring or refused by the source)."""
        return await self.service.access_token(self.connection_id, rejected=self._rejected)

    def invalidate(self, value: str) -> None:
        """The source refused ``value``: the next ``token()`` refreshes."""
        self._rejected = value


async def _locked_row(session: AsyncSession, connection_id: int) -> OAuthToken:
    """The token row, locked for this transaction (row lock on PostgreSQL, writer on SQLite)."""
    hold = update(OAuthToken).where(OAuthToken.connection_id == connection_id)
    await session.execute(hold.values(generation=OAuthToken.generation))
    query = select(OAuthToken).where(OAuthToken.connection_id == connection_id)
    row = await session.scalar(query.execution_options(populate_existing=True))
    if row is None:
        raise ReconnectNeededError(f"connection {connection_id} was disconnected meanwhile")
    return row


async def _mark_reconnect(
    session: AsyncSession, connection_id: int, provider: str, err: ReconnectNeededError
) -> str:
    error = err.details.get("provider_error", err.code)
    reason = f"OAuth refresh refused by {provider} ({error}); connect again"
    await session.execute(delete(OAuthToken).where(OAuthToken.connection_id == connection_id))
    connection = await session.get(Connection, connection_id)
    if connection is not None:
        connection.state, connection.state_reason = NEEDS_RECONNECT, reason
    await record_event(
        session, actor="system", action="oauth.needs_reconnect", target_type="connection",
        target_id=connection_id, details={"provider": provider, "reason": reason},
    )  # fmt: skip
    logger.warning("connection %s needs reconnecting: %s", connection_id, reason)
    return reason


def _datetime(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)
