"""Every DataUpdate the publisher sends parses with the real opal-common 0.9.9 models."""

from __future__ import annotations

import json
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from opal.publisher import CALLBACK_ROUTE, OpalPublisher
from pip_service.runtime import Runtime
from tests.api.conftest import make_settings
from tests.conftest import Database
from tests.fakes.okta import OktaFake
from tests.opal.test_contract import CHECKER
from tests.rigs.opal_env import ensure_opal_venv, opal_bin
from tests.webhooks.conftest import add_okta
from tests.webhooks.okta_events import deactivate

pytestmark = [pytest.mark.opal]

DATASOURCE_TOKEN = "datasource-jwt-stand-in-0001"


@pytest.fixture
async def captured(
    sqlite_db: Database, tmp_path: Path, okta: OktaFake
) -> AsyncIterator[tuple[Runtime, list[Any]]]:
    """A runtime whose publisher posts into a list (what OPAL's /data/config would receive)."""
    okta.reset(users=6, groups=1)
    sent: list[Any] = []

    def opal(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {DATASOURCE_TOKEN}"
        sent.append(orjson.loads(request.content))
        return httpx.Response(200, json={"status": "ok"})

    settings = make_settings(sqlite_db.url, tmp_path).model_copy(
        update={"opal_server_url": "http://opal.test",
                "opal_datasource_token": SecretStr(DATASOURCE_TOKEN), "opal_patch_max_bytes": 2000}
    )  # fmt: skip
    runtime = Runtime(settings)
    await runtime.start()
    client = httpx.AsyncClient(transport=httpx.MockTransport(opal))
    runtime.publisher = OpalPublisher(settings, lambda: runtime.documents, runtime.sessions,
                                      client=client)  # fmt: skip
    yield runtime, sent
    await runtime.stop()


async def test_patch_and_refetch_updates_parse_with_opal_common(
    captured: tuple[Runtime, list[Any]], okta: OktaFake
) -> None:
    runtime, sent = captured
    connection_id = await add_okta(runtime, okta)  # first publication: refetch (no base yet)
    okta.touch_user("00u00000000000000002", status="SUSPENDED")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(runtime)),
                                 base_url="http://pip.test") as http:  # fmt: skip
        body = orjson.dumps(deactivate("00u00000000000000002"))
        headers = {"Authorization": "okta-event-hook-secret-0123456789"}
        assert (await http.post(f"/webhooks/{connection_id}", content=body,
                                headers=headers)).status_code == 200  # fmt: skip
        await runtime.webhooks.wait_idle()
    methods = {entry["save_method"] for update in sent for entry in update["entries"]}
    assert methods == {"PUT", "PATCH"}
    for update in sent:
        [(url, _config)] = update["callback"]["callbacks"]
        assert url.endswith(CALLBACK_ROUTE)
        for entry in update["entries"]:
            assert set((entry.get("config") or {}).get("headers", {})) <= {"Authorization"}
    results = _check(sent, Path(runtime.settings.data_dir))
    assert [r["ok"] for r in results] == [True] * len(sent), results
    for update, result in zip(sent, results, strict=True):
        parsed = result["parsed"]
        assert [e["save_method"] for e in parsed["entries"]] == [
            e["save_method"] for e in update["entries"]
        ]
        assert [_ops(e) for e in parsed["entries"]] == [_ops(e) for e in update["entries"]]


def _ops(entry: dict[str, Any]) -> Any:
    data = entry.get("data")
    if not isinstance(data, list):
        return data
    return [{k: v for k, v in op.items() if v is not None} for op in data]


def _app(runtime: Runtime) -> Any:
    from pip_service.api.app import create_app

    return create_app(runtime)


def _check(updates: list[Any], tmp: Path) -> list[dict[str, Any]]:
    ensure_opal_venv()
    cases = tmp / "cases.json"
    cases.write_text(json.dumps({"DataUpdate": updates}))
    done = subprocess.run([str(opal_bin("python")), str(CHECKER), str(cases)],
                          capture_output=True, text=True, check=True)  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return [line for line in lines if line["model"] == "DataUpdate"]
