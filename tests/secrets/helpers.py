"""Vault test setup: runtimes with given keys, connections with every kind of secret."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from pip_service.config import Settings
from pip_service.connections.service import create_connection
from pip_service.db.session import transaction
from pip_service.oauth.clients import configure_client
from pip_service.oauth.implementations import TokenSet
from pip_service.oauth.schemas import OAuthClientIn
from pip_service.oauth.tokens import save_tokens
from pip_service.runtime import Runtime

API_TOKEN = "memory-api-token-PLAINTEXT-{n}"
CLIENT_SECRET = "oauth-client-secret-PLAINTEXT-{n}"
ACCESS = "oauth-access-token-PLAINTEXT-{n}"
REFRESH = "oauth-refresh-token-PLAINTEXT-{n}"


def settings_for(database_url: str, data_dir: Path, keys: str | None) -> Settings:
    """A runtime's settings with these keys (None: the embedded key file)."""
    return Settings(
        database_url=database_url, redis_url=None, data_dir=data_dir,
        encryption_keys=SecretStr(keys) if keys else None,
        scheduler_enabled=False, log_json=False,
    )  # fmt: skip


def plaintexts(count: int) -> list[str]:
    """Every secret value ``seed`` stores for ``count`` connections."""
    return [
        t.format(n=n) for n in range(count) for t in (API_TOKEN, CLIENT_SECRET, ACCESS, REFRESH)
    ]


async def seed(runtime: Runtime, source: str, count: int) -> list[int]:
    """``count`` memory connections, each with a stored secret, an OAuth client and tokens."""
    ids = []
    async with transaction(runtime.sessions) as session:
        for n in range(count):
            connection = await create_connection(
                session, name=f"src-{n}", connector_type="memory", actor="tests",
                config={"source": source, "api_token": API_TOKEN.format(n=n)},
                keyring=runtime.keyring,
            )  # fmt: skip
            request = OAuthClientIn(
                provider="okta", client_id=f"client-{n}", params={"domain": "acme.okta.com"},
                client_secret=SecretStr(CLIENT_SECRET.format(n=n)),
            )  # fmt: skip
            await configure_client(session, runtime.keyring, connection=connection, request=request)
            tokens = TokenSet(access_token=ACCESS.format(n=n), refresh_token=REFRESH.format(n=n))
            await save_tokens(session, runtime.keyring, connection_id=connection.id,
                              provider="Okta", tokens=tokens, actor="tests")  # fmt: skip
            ids.append(connection.id)
    return ids
