"""Webhook → PIP → real OPAL server and client → OPA stand-in, and back (delivery reports).

The PIP runs under uvicorn with ``PIP_OPAL_SERVER_URL`` and the OPAL master
token (it obtains its own datasource token); the OPAL server only knows the
PIP's ``/opal/data-sources``. The Okta org is the fake, reached over HTTP.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from opal.datasources import data_sources_url, topics_for
from pip_service.documents.catalog import document_names
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key
from tests.fakes.okta import OktaFake
from tests.fakes.server import FakeServer
from tests.opal.conftest import make_settings
from tests.rigs.opa_server import OpaStandIn, PolicyStore, run_opa_stand_in
from tests.rigs.opal import (
    OpalServer,
    _spawn,
    free_port,
    run_opal_client,
    run_opal_server,
    wait_ready,
)
from tests.rigs.pip_app import run_pip_app
from tests.webhooks.conftest import HOOK_SECRET, add_okta
from tests.webhooks.okta_events import deactivate

pytestmark = [pytest.mark.opal, pytest.mark.slow]

READ_TOKEN = "pip_e2e-webhook-read-token-0000000000001"
LOAD_TIMEOUT = 30.0
APPLY_TIMEOUT = 10.0
# Reports go to the PIP's callback only. OPAL's default callback (the server's
# /data/callback_report, posted without a token) answers 401 and is retried for ~10 s
# per report on the client's few fetch workers, which delays every report behind it.
REPORTING = {
    "OPAL_SHOULD_REPORT_ON_DATA_UPDATES": "true",
    "OPAL_DEFAULT_UPDATE_CALLBACKS": '{"callbacks": []}',
}


@dataclass
class Stack:
    """Everything running."""

    pip_url: str
    opa: OpaStandIn
    okta: OktaFake
    server: OpalServer
    connection_id: int
    database: Path


def _path(name: str) -> list[str]:
    return ["pip", *name.split("/")]


def _loaded(store: PolicyStore) -> bool:
    return "rig.rego" in store.policies and all(
        store.get_data(_path(name)) is not None for name in document_names()
    )


async def _seed(database_url: str, tmp: Path, key: str, okta: OktaFake) -> int:
    runtime = Runtime(make_settings(database_url, tmp, encryption_keys=SecretStr(key)))
    await runtime.start()
    try:
        return await add_okta(runtime, okta)
    finally:
        await runtime.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Okta fake (30 users), PIP, OPAL server and client, OPA stand-in, initial load done."""
    tmp = tmp_path_factory.mktemp("e2e-webhooks")
    okta = OktaFake()
    with FakeServer(okta.app) as okta_server:
        okta.base_url = okta_server.url
        okta.reset(users=30, groups=3)
        key = f"e2e:{generate_key()}"
        database = tmp / "pip.db"
        database_url = f"sqlite+aiosqlite:///{database}"
        connection_id = asyncio.run(_seed(database_url, tmp, key, okta))
        pip_port = free_port()
        pip_public = f"http://127.0.0.1:{pip_port}"
        sources = {"external_source_url": data_sources_url(pip_public)}
        with run_opal_server(tmp / "opal-server", data_config_sources=sources) as server:
            client_jwt = server.token("client")
            env = {
                "PIP_DATABASE_URL": database_url, "PIP_PUBLIC_URL": pip_public,
                "PIP_OPAL_TOKENS": f"{READ_TOKEN},{client_jwt}", "PIP_ENCRYPTION_KEYS": key,
                "PIP_SCHEDULER_ENABLED": "false", "PIP_LOG_JSON": "false",
                "PIP_OPAL_SERVER_URL": server.url,
                "PIP_OPAL_MASTER_TOKEN": server.keys.master_token,
            }  # fmt: skip
            with (
                run_pip_app(tmp / "pip", env, port=pip_port) as pip_url,
                run_opa_stand_in() as opa,
                run_opal_client(
                    tmp / "opal-client", server=server, policy_store_url=opa.url,
                    topics=topics_for(document_names()), token=client_jwt,
                    extra_env=REPORTING,
                ),
            ):  # fmt: skip
                assert opa.store.wait_for(_loaded, LOAD_TIMEOUT), "initial load did not finish"
                started = server.process
                try:
                    yield Stack(pip_url, opa, okta, server, connection_id, database)
                finally:
                    if server.process is not started:  # restarted by a test: stop that one too
                        server.process.stop()


def served(stack: Stack, name: str) -> Any:
    """A document as the PIP serves it to OPAL."""
    headers = {"Authorization": f"Bearer {READ_TOKEN}"}
    return httpx.get(f"{stack.pip_url}/opal/pip-data/{name}", headers=headers, timeout=10).json()


def allowed(stack: Stack, user: str) -> Any:
    """The rig policy's decision for ``user``, asked of the OPA stand-in."""
    url = f"{stack.opa.url}/v1/data/pip/rig/allow"
    return httpx.post(url, json={"input": {"user": user}}, timeout=10).json().get("result")


def deliver(stack: Stack, body: Any, secret: str = HOOK_SECRET) -> httpx.Response:
    """POST an Okta event hook delivery to the PIP."""
    return httpx.post(
        f"{stack.pip_url}/webhooks/{stack.connection_id}",
        content=orjson.dumps(body),
        headers={"Authorization": secret, "Content-Type": "application/json"},
        timeout=10,
    )


def user_disabled(email: str) -> Any:
    """A store check: ``email`` is in OPA with ``enabled`` false."""
    return lambda store: (
        (store.get_data([*_path("identity/users"), email]) or {}).get("enabled") is False
    )


def query(database: Path, sql: str) -> list[tuple[Any, ...]]:
    """Read the PIP's SQLite database (the PIP process writes it)."""
    with sqlite3.connect(database) as conn:
        return conn.execute(sql).fetchall()


def test_initial_load_matches_what_the_pip_serves(stack: Stack) -> None:
    for name in document_names(with_meta=False):
        assert stack.opa.store.get_data(_path(name)) == served(stack, name), name
    assert allowed(stack, "user00001@example.com") is True


def test_signed_deactivation_reaches_opa_as_a_patch(stack: Stack) -> None:
    uid, email = "00u00000000000000004", "user00004@example.com"
    assert allowed(stack, email) is True
    stack.okta.touch_user(uid, status="DEPROVISIONED")
    answer = deliver(stack, deactivate(uid))
    assert answer.status_code == 200, answer.text
    assert stack.opa.store.wait_for(user_disabled(email), APPLY_TIMEOUT)
    assert allowed(stack, email) is False
    assert allowed(stack, "user00005@example.com") is True
    assert stack.opa.store.get_data(_path("identity/users")) == served(stack, "identity/users")
    meta = stack.opa.store.get_data(_path("meta"))["identity/users"]
    assert meta["revision"] == served(stack, "meta")["identity/users"]["revision"]
    sql = "SELECT kind, status FROM opal_publications WHERE document = 'identity/users'"
    kinds = query(stack.database, sql + " ORDER BY published_at")
    assert kinds[-1] == ("patch", "published")


def test_clients_report_what_they_applied(stack: Stack) -> None:
    deadline = time.monotonic() + APPLY_TIMEOUT
    sql = ("SELECT d.saved FROM opal_deliveries d JOIN opal_publications p "
           "ON p.update_id = d.update_id WHERE p.document = 'identity/users'")  # fmt: skip
    while time.monotonic() < deadline and not query(stack.database, sql):
        time.sleep(0.1)
    reports = query(stack.database, sql)
    assert reports and all(saved == 1 for (saved,) in reports)


def test_forged_replayed_and_oversized_webhooks_change_nothing(stack: Stack) -> None:
    uid, email = "00u00000000000000006", "user00006@example.com"
    stack.okta.touch_user(uid, status="DEPROVISIONED")  # what a wrongly accepted event would read
    before_opa = stack.opa.store.get_data(["pip"])
    before_pip = served(stack, "identity/users")
    before_records = query(stack.database, "SELECT external_id, content_hash FROM records")
    old = datetime.now(UTC) - timedelta(hours=2)
    answers = [
        deliver(stack, deactivate(uid), secret="forged-secret"),
        deliver(stack, deactivate(uid, at=old)),
        deliver(stack, {**deactivate(uid), "pad": "x" * (1024 * 1024 + 1)}),
    ]
    assert [a.status_code for a in answers] == [401, 401, 413]
    time.sleep(1.0)  # anything wrongly accepted would have reached OPA by now
    assert stack.opa.store.get_data(["pip"]) == before_opa
    assert served(stack, "identity/users") == before_pip
    assert query(stack.database, "SELECT external_id, content_hash FROM records") == before_records
    assert allowed(stack, email) is True
    stack.okta.touch_user(uid, status="ACTIVE")


def test_clients_recover_current_data_after_an_opal_server_restart(stack: Stack) -> None:
    uid, email = "00u00000000000000007", "user00007@example.com"
    stack.server.process.stop()
    stack.okta.touch_user(uid, status="SUSPENDED")
    assert deliver(stack, deactivate(uid)).status_code == 200  # published while OPAL is down
    time.sleep(1.0)
    assert allowed(stack, email) is True  # OPA could not hear about it
    workdir = stack.server.process.log.parent
    stack.server.process = _spawn("opal-server", [str(stack.server.process.popen.args[0]), "run"],
                                  stack.server.env, workdir)  # fmt: skip
    wait_ready(stack.server.process, f"{stack.server.url}/healthcheck")
    assert stack.opa.store.wait_for(user_disabled(email), LOAD_TIMEOUT)
    for name in document_names(with_meta=False):
        assert stack.opa.store.get_data(_path(name)) == served(stack, name), name
