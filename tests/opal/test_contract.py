"""The real opal-common 0.9.9 models accept everything the PIP emits (run in ``.opal-venv``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from opal.config import opal_environment
from opal.datasources import DocumentSource, data_source_config
from opal.models import DataUpdateReport, to_wire
from opal.updates import data_update, patch_entry, refetch_entry
from pip_service.config import Settings
from pip_service.documents.catalog import META, document_names
from tests.rigs.opal_env import ensure_opal_venv, opal_bin

pytestmark = pytest.mark.opal

CHECKER = Path(__file__).with_name("opal_checker.py")
PUBLIC_URL = "http://pip.internal:8000"
READ_TOKEN = "pip_read_token_for_contract"
ENTRY_FIELDS = ("url", "config", "topics", "dst_path", "save_method", "data")


def _configs() -> list[dict[str, Any]]:
    ttls = (300.0, 900.0, 3600.0, 86400.0)
    documents = [
        DocumentSource(name, ttls[i % len(ttls)]) for i, name in enumerate(document_names())
    ]
    full = data_source_config(
        documents, public_url=PUBLIC_URL, read_token=READ_TOKEN, refresh_ratio=0.8
    )
    single = data_source_config(
        [DocumentSource(META, 1.0)],
        public_url=PUBLIC_URL,
        read_token=READ_TOKEN,
        refresh_ratio=0.5,
    )
    return [to_wire(full), to_wire(single)]


def _updates() -> list[dict[str, Any]]:
    refetch = data_update(
        [refetch_entry(n, public_url=PUBLIC_URL, read_token=READ_TOKEN) for n in document_names()],
        reason="sync committed",
        update_id="refetch-1",
        callbacks=["http://pip.internal:8000/opal/callbacks/report"],
    )
    ops: list[dict[str, Any]] = [
        {"op": "replace", "path": "/alice@example.com/enabled", "value": False},
        {"op": "add", "path": "/bob@example.com", "value": {"key": "bob@example.com", "x": None}},
        {"op": "remove", "path": "/carol@example.com"},
        {"op": "move", "from": "/a", "path": "/b"},
        {"op": "copy", "from": "/b", "path": "/c"},
        {"op": "test", "path": "/c/key", "value": "c"},
    ]
    patch = data_update(
        [patch_entry("identity/users", ops)], reason="okta event", update_id="patch-1"
    )
    return [to_wire(refetch), to_wire(patch)]


def _server_configs() -> list[dict[str, Any]]:
    env = opal_environment(Settings(public_url=PUBLIC_URL), READ_TOKEN)
    return [json.loads(env["OPAL_DATA_CONFIG_SOURCES"])]


def _run_checker(tmp_path: Path, cases: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    ensure_opal_venv()
    path = tmp_path / "cases.json"
    path.write_text(json.dumps(cases))
    done = subprocess.run(
        [str(opal_bin("python")), str(CHECKER), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """What opal-common made of each case, by model name."""
    cases = {
        "DataSourceConfig": _configs(),
        "ServerDataSourceConfig": _server_configs(),
        "DataUpdate": _updates(),
    }
    lines = _run_checker(tmp_path_factory.mktemp("contract"), cases)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        grouped.setdefault(line["model"], []).append(line)
    return grouped


def _sent_vs_parsed(sent: dict[str, Any], parsed: dict[str, Any]) -> None:
    for field in ENTRY_FIELDS:
        if field in sent:
            assert parsed[field] == sent[field], field


def test_data_source_configs_parse_with_every_field_kept(
    results: dict[str, list[dict[str, Any]]],
) -> None:
    sent = _configs()
    for line, config in zip(results["DataSourceConfig"], sent, strict=True):
        assert line["ok"], line.get("error")
        parsed_entries = line["parsed"]["entries"]
        assert len(parsed_entries) == len(config["entries"])
        for entry, parsed in zip(config["entries"], parsed_entries, strict=True):
            _sent_vs_parsed(entry, parsed)
            assert parsed["periodic_update_interval"] == entry["periodic_update_interval"]


def test_entries_carry_only_the_pip_read_token(results: dict[str, list[dict[str, Any]]]) -> None:
    for line in results["DataSourceConfig"]:
        for entry in line["parsed"]["entries"]:
            assert entry["config"] == {"headers": {"Authorization": f"Bearer {READ_TOKEN}"}}


def test_server_config_redirects_to_the_pip(results: dict[str, list[dict[str, Any]]]) -> None:
    (line,) = results["ServerDataSourceConfig"]
    assert line["ok"], line.get("error")
    assert line["parsed"]["config"] is None
    assert line["parsed"]["external_source_url"] == f"{PUBLIC_URL}/opal/data-sources"


def test_data_updates_parse_refetch_and_patch(results: dict[str, list[dict[str, Any]]]) -> None:
    for line, update in zip(results["DataUpdate"], _updates(), strict=True):
        assert line["ok"], line.get("error")
        assert line["parsed"]["id"] == update["id"]
        assert line["parsed"]["callback"] == update["callback"]
        for entry, parsed in zip(update["entries"], line["parsed"]["entries"], strict=True):
            if entry["save_method"] == "PATCH":
                # OPAL parses patch data into its own JSONPatchAction (``from`` kept as alias).
                ops = [{k: v for k, v in op.items() if v is not None} for op in parsed["data"]]
                expected = [{k: v for k, v in op.items() if v is not None} for op in entry["data"]]
                assert ops == expected
                entry = {k: v for k, v in entry.items() if k != "data"}
            _sent_vs_parsed(entry, parsed)


def test_checker_rejects_what_opal_rejects(tmp_path: Path) -> None:
    """Guard: the checker really validates (PATCH without a patch list, both config forms)."""
    update = _updates()[0]
    update["entries"][0].update(save_method="PATCH", data={"not": "a patch"})
    both = {"config": {"entries": []}, "external_source_url": f"{PUBLIC_URL}/opal/data-sources"}
    lines = _run_checker(tmp_path, {"DataUpdate": [update], "ServerDataSourceConfig": [both]})
    assert [line["ok"] for line in lines if line["model"] != "report"] == [False, False]


def test_opal_client_reports_parse_with_the_pip_model(
    results: dict[str, list[dict[str, Any]]],
) -> None:
    (line,) = results["report"]
    report = DataUpdateReport.model_validate(line["parsed"])
    assert report.update_id == "u-1"
    assert report.reports[0].saved is True
    assert report.reports[0].entry.dst_path == "/pip/identity/users"
