"""External secret references (env:, file:, vault:) resolved when used and never stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from pip_service.api.app import create_app
from pip_service.connections.models import Connection
from pip_service.connections.service import load_connector
from pip_service.errors import ConfigError
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key
from pip_service.secrets.refs import parse, resolve
from tests.conftest import Database
from tests.secrets.fake_vault import FakeVault, fake_vault
from tests.secrets.helpers import settings_for
from tests.sync.source import FakeSource, fake_source, install

__all__ = ["fake_source"]
VAULT_SECRET = "vault-held-api-token-0042"
ADMIN = "pip_bootstrap-admin-token-for-refs-test"


@pytest.fixture(autouse=True)
def memory_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)


@pytest.fixture
def vault(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeVault]:
    with fake_vault() as server:
        monkeypatch.setenv("PIP_VAULT_ADDR", server.url)
        monkeypatch.setenv("PIP_VAULT_TOKEN", server.token)
        server.secrets["kv/pip/okta"] = {"api_token": VAULT_SECRET, "other": "x1"}
        yield server


def test_env_and_file_references_are_read_for_real(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OKTA_SECRETS", '{"api_token": "from-env-json"}')
    monkeypatch.setenv("ONE_SECRET", "from-env-plain")
    secret_file = tmp_path / "secret.json"
    secret_file.write_text('{"client_secret": "from-file"}\n')

    assert resolve("env:OKTA_SECRETS") == {"api_token": "from-env-json"}
    plain_file = tmp_path / "token.txt"
    plain_file.write_text("from-plain-file\n")
    assert resolve(f"api_token=env:ONE_SECRET; password=file:{plain_file}") == {
        "api_token": "from-env-plain",
        "password": "from-plain-file",
    }
    assert resolve(f"file:{secret_file}") == {"client_secret": "from-file"}
    assert resolve("api_token=env:ONE_SECRET") == {"api_token": "from-env-plain"}


def test_vault_kv2_references_read_the_secret_with_hvac(vault: FakeVault) -> None:
    assert resolve("vault:kv/pip/okta") == {"api_token": VAULT_SECRET, "other": "x1"}
    assert resolve("api_token=vault:kv/pip/okta#api_token") == {"api_token": VAULT_SECRET}
    assert vault.reads[-1] == "/v1/kv/data/pip/okta"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("http://x", "must start with env:, file: or vault:"),
        ("env:NOT_SET_ANYWHERE_42", "env:NOT_SET_ANYWHERE_42: the variable is not set"),
        ("file:relative.json", "absolute path"),
        ("file:/nonexistent/secret.json", "cannot be read"),
        ("vault:kv/pip/missing", "no such secret in Vault"),
        ("api_token=vault:kv/pip/okta#nope", "has no field 'nope'"),
        ("api_token=vault:kv/pip/okta", "holds several values"),
    ],
)
def test_bad_references_are_clear_errors_without_values(
    vault: FakeVault, spec: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        resolve(spec)
    assert VAULT_SECRET not in str(caught.value)


def test_a_wrong_vault_token_is_named(vault: FakeVault, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_VAULT_TOKEN", "s.wrong")
    with pytest.raises(ConfigError, match="Vault refused the token"):
        resolve("vault:kv/pip/okta")


def test_parse_splits_fields() -> None:
    assert [(name, str(ref)) for name, ref in parse("a=env:A; b=vault:kv/x/y#f")] == [
        ("a", "env:A"), ("b", "vault:kv/x/y#f"),
    ]  # fmt: skip


async def test_a_connection_syncs_with_a_vault_secret_the_pip_never_stores(
    sqlite_db: Database, tmp_path: Path, vault: FakeVault, fake_source: FakeSource
) -> None:
    fake_source.fill(3)
    settings = settings_for(sqlite_db.url, tmp_path, f"k1:{generate_key()}")
    runtime = Runtime(settings.model_copy(update={"bootstrap_admin_token": SecretStr(ADMIN)}))
    await runtime.start()
    transport = httpx.ASGITransport(app=create_app(runtime))
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://pip.test") as http:
        config = {"source": fake_source.name, "api_token": "placeholder-to-replace"}
        body = {"name": "okta", "connector_type": "memory", "config": config}
        created = await http.post("/api/v1/connections", headers=headers, json=body)
        connection_id = created.json()["id"]
        ref_url = f"/api/v1/connections/{connection_id}/secret-ref"
        bad = await http.put(ref_url, headers=headers, json={"secret_ref": "vault:kv/pip/missing"})
        good = await http.put(
            ref_url, headers=headers, json={"secret_ref": "api_token=vault:kv/pip/okta#api_token"}
        )
        shown = (await http.get(f"/api/v1/connections/{connection_id}", headers=headers)).text

    assert bad.status_code == 422 and "no such secret" in bad.json()["detail"]
    assert good.status_code == 204
    assert VAULT_SECRET not in shown and "vault:kv/pip/okta" in shown
    async with runtime.sessions() as session:
        connection = await session.scalar(select(Connection))
    assert connection is not None
    connector = load_connector(connection, keyring=runtime.keyring, http_client=None)
    assert connector.config.api_token.get_secret_value() == VAULT_SECRET
    result = await runtime.run_connection(connection_id, mode="full")
    assert (result.status, result.created) == ("success", 3)
    await runtime.stop()
