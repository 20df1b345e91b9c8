"""The pip-service CLI: what users see, exit codes, and nothing written on bad input."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pip_service.cli import app
from tests.cli.conftest import count

SMALL = ["users=10", "devices=20", "applications=5", "deployments=5", "changes=5",
         "audit_events=10"]  # fmt: skip


def sets(values: list[str]) -> list[str]:
    """``--set`` options for each value."""
    return [arg for value in values for arg in ("--set", value)]


def one_line_error(result: object) -> str:
    """The single stderr line of a failed command."""
    stderr = getattr(result, "stderr", "")
    assert stderr.count("\n") == 1, stderr
    assert stderr.startswith("error: ")
    return str(stderr)


def test_add_list_and_sync_a_connection(runner: CliRunner, env: Path) -> None:
    added = runner.invoke(app, ["connections", "add", "--type", "demo", "--name", "hq",
                                *sets(SMALL)])  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "added connection 'hq'" in added.stdout
    listed = runner.invoke(app, ["connections", "list"])
    assert "hq" in listed.stdout and "demo" in listed.stdout
    synced = runner.invoke(app, ["sync", "hq", "--mode", "full"])
    assert synced.exit_code == 0, synced.output
    assert "sync of 'hq' succeeded" in synced.stdout
    assert count(env, "records") > 0


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["connections", "add", "--type", "nope", "--name", "x"], "Unknown connector type"),
        (["connections", "add", "--type", "demo", "--name", "x", "--set", "devices=-1"],
         "config.devices"),
        (["connections", "add", "--type", "demo", "--name", "x", "--set", "broken"], "--set"),
        (["connections", "add", "--type", "demo", "--name", "x", "--config-file", "no.json"],
         "cannot read config file"),
        (["connections", "add", "--name", "x"], "--type"),
        (["tokens", "create", "--name", "x", "--role", "superuser"], "superuser"),
        (["sync", "no-such-connection"], "does not exist"),
        (["sync", "x", "--mode", "sideways"], "sideways"),
        (["opal-config"], "no OPAL read token"),
    ],
    ids=["type", "config-value", "set-syntax", "config-file", "missing-option", "role",
         "unknown-connection", "mode", "opal-token"],
)  # fmt: skip
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    runner: CliRunner, env: Path, args: list[str], mentions: str
) -> None:
    before = {t: count(env, t) for t in ("connections", "api_tokens", "audit_events")}
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert mentions in one_line_error(result)
    assert {t: count(env, t) for t in before} == before


def test_bad_json_config_file_is_refused(runner: CliRunner, env: Path, tmp_path: Path) -> None:
    config = tmp_path / "cfg.json"
    config.write_text('{"users": 10,')
    result = runner.invoke(app, ["connections", "add", "--type", "demo", "--name", "x",
                                 "--config-file", str(config)])  # fmt: skip
    assert result.exit_code == 2
    assert "not valid JSON" in one_line_error(result)
    config.write_text(json.dumps({"users": 10, "devices": 5}))
    result = runner.invoke(app, ["connections", "add", "--type", "demo", "--name", "x",
                                 "--config-file", str(config)])  # fmt: skip
    assert result.exit_code == 0, result.output


def test_tokens_create_prints_the_token_once(runner: CliRunner, env: Path) -> None:
    result = runner.invoke(app, ["tokens", "create", "--name", "ci", "--role", "operator"])
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert token.startswith("pip_") and len(token) > 40
    assert "shown only this once" in result.stderr
    assert count(env, "api_tokens") == 1


def test_seed_and_clear_demo_leave_real_data_alone(runner: CliRunner, env: Path) -> None:
    real = runner.invoke(app, ["connections", "add", "--type", "demo", "--name", "real",
                               *sets(SMALL)])  # fmt: skip
    assert real.exit_code == 0
    assert runner.invoke(app, ["sync", "real"]).exit_code == 0
    real_records = count(env, "records")
    seeded = runner.invoke(app, ["seed-demo", *sets(SMALL)])
    assert seeded.exit_code == 0, seeded.output
    assert "seeded demo data" in seeded.stdout and "10 users" in seeded.stdout
    assert count(env, "records") == 2 * real_records
    cleared = runner.invoke(app, ["clear-demo"])
    assert cleared.exit_code == 0, cleared.output
    assert f"1 connections, {real_records} records" in cleared.stdout
    assert count(env, "records") == real_records
    assert count(env, "connections") == 1


def test_opal_config_prints_the_environment(runner: CliRunner, env: Path) -> None:
    result = runner.invoke(app, ["opal-config", "--token", "pip_given-token-value-123456"])
    assert result.exit_code == 0, result.output
    keys = dict(line.split("=", 1) for line in result.stdout.splitlines())
    assert keys["OPAL_CLIENT_TOKEN"] == "pip_given-token-value-123456"
    assert "/opal/data-sources" in keys["OPAL_DATA_CONFIG_SOURCES"]


def test_demo_seeds_once_and_prints_tokens_once(runner: CliRunner, env: Path) -> None:
    first = runner.invoke(app, ["demo", "--no-serve", *sets(SMALL)])
    assert first.exit_code == 0, first.output
    assert "admin API token (shown only this once)" in first.stdout
    assert "curl --compressed" in first.stdout and "/opal/pip-data/identity/users" in first.stdout
    assert "OPAL_DATA_CONFIG_SOURCES=" in first.stdout
    token_file = env.parent / "opal-token"
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert token_file.read_text().strip() in first.stderr
    second = runner.invoke(app, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    assert "seeded demo data" not in second.stdout
    assert "admin API token" not in second.stdout
    assert token_file.read_text().strip() not in second.output


def test_a_sync_losing_most_devices_fails_unless_forced(runner: CliRunner, env: Path) -> None:
    added = runner.invoke(app, ["connections", "add", "--type", "demo", "--name", "hq",
                                *sets(SMALL)])  # fmt: skip
    assert added.exit_code == 0, added.output
    assert runner.invoke(app, ["sync", "hq", "--mode", "full"]).exit_code == 0
    with sqlite3.connect(env) as conn:  # the source now has 3 of its 20 devices
        conn.execute("UPDATE connections SET config = json_set(config, '$.devices', 3)")

    refused = runner.invoke(app, ["sync", "hq", "--mode", "full"])
    assert refused.exit_code != 0
    assert "mass_deletion_refused" in one_line_error(refused)
    forced = runner.invoke(app, ["sync", "hq", "--mode", "full", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "17 deleted" in forced.stdout
