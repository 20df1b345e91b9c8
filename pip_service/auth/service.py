"""API tokens: issue (plaintext shown once), store hashed, authenticate, revoke.

A token is ``pip_`` followed by 43 random URL-safe characters; only its SHA-256
is stored. Tokens from the environment (``PIP_BOOTSTRAP_ADMIN_TOKEN``,
``PIP_OPAL_TOKENS``) are compared in constant time against their hashes and
never written to the database. Lookups are cached in memory for a few seconds,
so a revoked token stops working on other replicas within that time (at once
on the replica that revoked it).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from pip_service.audit.service import record_event
from pip_service.auth.models import ApiToken
from pip_service.auth.roles import Principal, Role
from pip_service.config import Settings
from pip_service.db.base import utcnow
from pip_service.errors import AuthenticationError, ConflictError, NotFoundError
from pip_service.logging import register_secret

logger = logging.getLogger(__name__)

TOKEN_PREFIX = "pip_"
BOOTSTRAP_ADMIN = "bootstrap-admin"
ENV_OPAL = "opal-env"
_LAST_USED_EVERY = timedelta(minutes=5)
_ROLES = frozenset(role.value for role in Role)


def generate_token() -> str:
    """A new random token: ``pip_`` + 256 bits, URL-safe."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token: hex SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: the row and the plaintext, which is never shown again."""

    row: ApiToken
    plaintext: str


async def create_token(
    session: AsyncSession, *, name: str, role: Role, actor: str, plaintext: str | None = None
) -> IssuedToken:
    """Store a new token (hashed) and audit it; ``ConflictError`` if the name is taken."""
    if await session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise ConflictError(f"A token named {name!r} already exists", field="name")
    token = plaintext or generate_token()
    row = ApiToken(name=name, role=role.value, token_hash=hash_token(token), prefix=token[:12])
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as err:
        raise ConflictError(f"A token named {name!r} already exists", field="name") from err
    register_secret(token)
    await record_event(
        session,
        actor=actor,
        action="token.create",
        target_type="token",
        target_id=str(row.id),
        details={"name": name, "role": role.value},
    )
    return IssuedToken(row=row, plaintext=token)


async def list_tokens(
    session: AsyncSession, *, limit: int, cursor: int | None = None
) -> list[ApiToken]:
    """Tokens, newest first (keyset on id)."""
    query = select(ApiToken).order_by(ApiToken.id.desc()).limit(limit)
    if cursor is not None:
        query = query.where(ApiToken.id < cursor)
    return list(await session.scalars(query))


async def revoke_token(session: AsyncSession, *, token_id: int, actor: str) -> ApiToken:
    """Mark a token revoked (idempotent) and audit it."""
    row = await session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"No token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await record_event(
            session,
            actor=actor,
            action="token.revoke",
            target_type="token",
            target_id=str(row.id),
            details={"name": row.name},
        )
    return row


class TokenAuthenticator:
    """Turns a bearer token into a ``Principal`` (or raises ``AuthenticationError``)."""

    def __init__(
        self, settings: Settings, sessions: async_sessionmaker[AsyncSession], *, ttl: float = 5.0
    ) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._admin_hash = _env_hashes(settings.bootstrap_admin_token)
        self._opal_hashes = _env_hashes(settings.opal_tokens)

    async def admin_principal(self, token: str | None) -> Principal:
        """The principal of an admin-API token (viewer, operator or admin)."""
        digest = _digest(token)
        if _matches(digest, self._admin_hash):
            return Principal(BOOTSTRAP_ADMIN, Role.ADMIN)
        principal = await self._stored(digest)
        if principal is None or principal.role is Role.OPAL:
            raise AuthenticationError("Missing or unknown bearer token")
        return principal

    async def opal_principal(self, token: str | None) -> Principal:
        """The principal of an OPAL read token (from ``PIP_OPAL_TOKENS`` or role ``opal``)."""
        digest = _digest(token)
        if _matches(digest, self._opal_hashes):
            return Principal(ENV_OPAL, Role.OPAL)
        principal = await self._stored(digest)
        if principal is None or principal.role is not Role.OPAL:
            raise AuthenticationError("Missing or unknown OPAL bearer token")
        return principal

    def forget(self) -> None:
        """Drop cached lookups (after a token is revoked)."""
        self._cache.clear()

    async def _stored(self, digest: str | None) -> Principal | None:
        if digest is None:
            return None
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        principal = await self._lookup(digest)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (time.monotonic() + self._ttl, principal)
        return principal

    async def _lookup(self, digest: str) -> Principal | None:
        async with self._sessions() as session, session.begin():
            row = await session.scalar(
                select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
            )
            if row is None or row.role not in _ROLES:
                return None
            if row.last_used_at is None or utcnow() - row.last_used_at > _LAST_USED_EVERY:
                row.last_used_at = utcnow()
            return Principal(row.name, Role(row.role), row.id)


def _digest(token: str | None) -> str | None:
    if not token or not token.isascii():
        return None
    return hash_token(token)


def _matches(digest: str | None, known: list[str]) -> bool:
    found = False
    for candidate in known:
        found |= hmac.compare_digest(digest or "", candidate)
    return found


def _env_hashes(value: SecretStr | None) -> list[str]:
    raw = value.get_secret_value() if value is not None else ""
    return [hash_token(part.strip()) for part in raw.split(",") if part.strip()]
