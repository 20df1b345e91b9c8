"""End to end with real OPAL: the PIP (uvicorn) → opal-server → opal-client → OPA stand-in.

The OPAL server only knows the PIP's ``/opal/data-sources`` (``external_source_url``);
it redirects the client there with the client's JWT as ``?token=``, and the client
fetches every document with the PIP read token from the entries.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from opal.datasources import data_sources_url, topic_for, topics_for
from opal.models import to_wire
from opal.updates import data_update, patch_entry
from pip_service.demo.service import seed_demo
from pip_service.documents.catalog import META, document_names
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key
from tests.opal.conftest import make_settings
from tests.rigs.opa_server import OpaStandIn, PolicyStore, run_opa_stand_in
from tests.rigs.opal import OpalServer, free_port, run_opal_client, run_opal_server
from tests.rigs.pip_app import run_pip_app

pytestmark = [pytest.mark.opal, pytest.mark.slow]

READ_TOKEN = "pip_e2e-read-token-000000000000000000001"
DEMO = {"users": 25, "devices": 40, "applications": 5, "deployments": 10, "changes": 5,
        "audit_events": 0, "page_size": 50}  # fmt: skip
LOAD_TIMEOUT = 30.0


@dataclass
class Stack:
    """Everything running, and what the PIP itself serves (to compare with OPA)."""

    pip_url: str
    opa: OpaStandIn
    served: dict[str, Any]
    server: OpalServer


async def _seed(database_url: str, settings_dir: Path, key: str) -> dict[str, Any]:
    settings = make_settings(database_url, settings_dir, encryption_keys=SecretStr(key))
    runtime = Runtime(settings)
    await runtime.start()
    try:
        result = await seed_demo(
            sessions=runtime.sessions, keyring=runtime.keyring, locks=runtime.locks,
            overrides=DEMO, on_committed=runtime.on_committed,
        )  # fmt: skip
        assert result.ok, result.sync
        return {name: (await runtime.documents.get(name)).data() for name in document_names()}
    finally:
        await runtime.stop()


def _path(name: str) -> list[str]:
    return ["pip", *name.split("/")]


def _loaded(store: PolicyStore) -> bool:
    return "rig.rego" in store.policies and all(
        store.get_data(_path(name)) is not None for name in document_names()
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """PIP with demo data, OPAL server and client, OPA stand-in; waits for the initial load."""
    tmp = tmp_path_factory.mktemp("e2e")
    key = f"e2e:{generate_key()}"
    database_url = f"sqlite+aiosqlite:///{tmp / 'pip.db'}"
    served = asyncio.run(_seed(database_url, tmp, key))
    pip_port = free_port()
    pip_public = f"http://127.0.0.1:{pip_port}"
    sources = {"external_source_url": data_sources_url(pip_public)}
    with run_opal_server(tmp / "opal-server", data_config_sources=sources) as server:
        client_jwt = server.token("client")
        env = {
            "PIP_DATABASE_URL": database_url,
            "PIP_PUBLIC_URL": pip_public,
            "PIP_OPAL_TOKENS": f"{READ_TOKEN},{client_jwt}",
            "PIP_ENCRYPTION_KEYS": key,
            "PIP_SCHEDULER_ENABLED": "false",
            "PIP_LOG_JSON": "false",
        }
        with (
            run_pip_app(tmp / "pip", env, port=pip_port) as pip_url,
            run_opa_stand_in() as opa,
            run_opal_client(
                tmp / "opal-client", server=server, policy_store_url=opa.url,
                topics=topics_for(document_names()), token=client_jwt,
            ),
        ):  # fmt: skip
            loaded = opa.store.wait_for(_loaded, LOAD_TIMEOUT)
            assert loaded, f"OPA got only {sorted(opa.store.get_data(['pip']) or {})}"
            yield Stack(pip_url, opa, served, server)


def test_every_document_reaches_opa_as_served(stack: Stack) -> None:
    for name in document_names(with_meta=False):
        assert stack.opa.store.get_data(_path(name)) == stack.served[name], name
    meta = stack.opa.store.get_data(_path(META))
    assert sorted(meta) == sorted(document_names(with_meta=False))


def test_policy_query_over_users_answers_from_pip_data(stack: Stack) -> None:
    users = stack.served["identity/users"]
    enabled = [key for key, user in users.items() if user.get("enabled") is True]
    disabled = [key for key, user in users.items() if user.get("enabled") is False]
    assert enabled, "the demo data has enabled users"
    url = f"{stack.opa.url}/v1/data/pip/rig/allow"
    for user, expected in [(enabled[0], True), *[(d, False) for d in disabled[:1]]]:
        answer = httpx.post(url, json={"input": {"user": user}}, timeout=10).json()
        assert answer == {"result": expected}, user
    nobody = httpx.post(url, json={"input": {"user": "nobody@nowhere.test"}}, timeout=10).json()
    assert nobody == {"result": False}


def test_documents_are_refused_without_the_read_token(stack: Stack) -> None:
    response = httpx.get(f"{stack.pip_url}/opal/pip-data/identity/users", timeout=10)
    assert response.status_code == 401


def test_inline_patch_update_reaches_opa(stack: Stack) -> None:
    """A DataUpdate as the PIP publishes it (JSON Patch inline) goes through OPAL to OPA."""
    users = stack.served["identity/users"]
    enabled = [key for key, user in users.items() if user.get("enabled") is True]
    user = enabled[-1]
    assert len(enabled) > 1, "keeps enabled[0] for the query test"
    token = stack.server.token("datasource", {"permitted_topics": [topic_for("identity/users")]})
    ops = [{"op": "replace", "path": f"/{user}/enabled", "value": False}]
    update = data_update([patch_entry("identity/users", ops)], reason="test: user disabled")
    response = httpx.post(
        f"{stack.server.url}/data/config", json=to_wire(update),
        headers={"Authorization": f"Bearer {token}"}, timeout=10,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    path = [*_path("identity/users"), user, "enabled"]
    assert stack.opa.store.wait_for(lambda store: store.get_data(path) is False, 10)
    url = f"{stack.opa.url}/v1/data/pip/rig/allow"
    answer = httpx.post(url, json={"input": {"user": user}}, timeout=10).json()
    assert answer == {"result": False}
