"""docker-compose.yml is a valid Compose file wired for OPAL (validated only: no engine here)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from opal.config import opal_environment
from pip_service.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
REQUIRED = {
    "PIP_OPAL_TOKEN": "opal-read-token-for-compose-test",
    "PIP_ADMIN_TOKEN": "admin-token-for-compose-test",
    "PIP_ENCRYPTION_KEYS": "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    "OPAL_POLICY_REPO_URL": "https://git.example.com/policies.git",
}

needs_compose = pytest.mark.skipif(
    shutil.which("docker-compose") is None, reason="docker-compose is not installed"
)


def _config(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    return subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config"],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The Compose file as docker-compose resolves it with the required variables set."""
    done = _config(REQUIRED)
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


@needs_compose
def test_compose_file_validates(resolved: dict[str, Any]) -> None:
    assert set(resolved["services"]) == {"pip", "postgres", "redis", "opal_server", "opal_client"}


@needs_compose
def test_missing_secret_is_refused_by_name() -> None:
    done = _config({k: v for k, v in REQUIRED.items() if k != "PIP_OPAL_TOKEN"})
    assert done.returncode != 0
    assert "PIP_OPAL_TOKEN" in done.stderr


@needs_compose
def test_opal_server_is_pointed_at_the_pip(resolved: dict[str, Any]) -> None:
    server = resolved["services"]["opal_server"]["environment"]
    assert server["OPAL_BROADCAST_URI"].startswith("redis://redis:")
    sources = json.loads(server["OPAL_DATA_CONFIG_SOURCES"])
    assert sources == {"external_source_url": "http://pip:8000/opal/data-sources"}
    pip_env = resolved["services"]["pip"]["environment"]
    assert pip_env["PIP_PUBLIC_URL"] == "http://pip:8000"


@needs_compose
def test_opal_client_reads_with_the_pip_token(resolved: dict[str, Any]) -> None:
    client = resolved["services"]["opal_client"]["environment"]
    pip_env = resolved["services"]["pip"]["environment"]
    assert client["OPAL_CLIENT_TOKEN"] == REQUIRED["PIP_OPAL_TOKEN"]
    assert pip_env["PIP_OPAL_TOKENS"].split(",")[0] == REQUIRED["PIP_OPAL_TOKEN"]
    expected = opal_environment(Settings(), "unused")["OPAL_DATA_TOPICS"]
    assert client["OPAL_DATA_TOPICS"] == expected
