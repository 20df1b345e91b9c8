"""Real OPAL 0.9.9 server and client processes for tests (from ``.opal-venv``).

``run_opal_server`` starts ``opal-server`` on a free port with Redis broadcast
(on a channel of its own, so parallel runs sharing the Redis never cross-talk),
RSA auth keys, a master token and a local git policy repository.
``run_opal_client`` starts ``opal-client`` writing into an external policy store
(``OPAL_INLINE_OPA_ENABLED=false``), e.g. the OPA stand-in of ``opa_server``.
Both log to files; a process that does not come up fails with its log tail.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.rigs.opal_env import ensure_opal_venv, opal_bin

REDIS_URI = os.environ.get("PIP_TEST_OPAL_BROADCAST_URI", "redis://127.0.0.1:6379")
START_TIMEOUT = 40.0
DEFAULT_POLICY = """package pip.rig

# A policy over the PIP's documents, to query through the policy store:
# POST /v1/data/pip/rig/allow {"input": {"user": "<email>"}}
default allow := false

allow if data.pip.identity.users[input.user].enabled == true
"""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class OpalKeys:
    """The OPAL server's JWT signing keys and master token."""

    private_pem: str
    public_ssh: str
    master_token: str


def generate_keys() -> OpalKeys:
    """A fresh RSA key pair (PEM private, OpenSSH public) and a random master token."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return OpalKeys(private.decode(), public.decode(), secrets.token_urlsafe(24))


def make_policy_repo(path: Path, files: Mapping[str, str] | None = None) -> Path:
    """A local git repository (branch ``main``) holding ``files`` (a Rego v1 module by default)."""
    path.mkdir(parents=True, exist_ok=True)
    for name, text in (files or {"rig.rego": DEFAULT_POLICY}).items():
        (path / name).write_text(text)
    git = ["git", "-C", str(path), "-c", "user.name=rig", "-c", "user.email=rig@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "policies"], check=True)
    return path


@dataclass
class Process:
    """A started OPAL process and its log."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of its log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (twice if needed: OPAL sometimes ignores the first), then SIGKILL."""
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            if self.popen.poll() is not None:
                return
            os.killpg(self.popen.pid, sig)
            try:
                self.popen.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue


@dataclass
class OpalServer:
    """A running opal-server."""

    url: str
    keys: OpalKeys
    channel: str
    process: Process
    env: dict[str, str] = field(repr=False)

    def token(self, token_type: str = "client", claims: Mapping[str, object] | None = None) -> str:
        """A JWT from ``POST /token`` (``client`` or ``datasource`` with ``permitted_topics``)."""
        body = {"type": token_type, "ttl": 86400, "claims": dict(claims or {})}
        headers = {"Authorization": f"Bearer {self.keys.master_token}"}
        response = httpx.post(f"{self.url}/token", json=body, headers=headers, timeout=10)
        response.raise_for_status()
        token: str = response.json()["token"]
        return token


@dataclass
class OpalClient:
    """A running opal-client."""

    url: str
    token: str
    process: Process


def _spawn(name: str, command: list[str], env: dict[str, str], workdir: Path) -> Process:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Process(name, popen, log)


def wait_ready(process: Process, url: str, timeout: float = START_TIMEOUT) -> None:
    """Poll ``url`` until it answers 200; stop the process and fail with its log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            break
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.stop()
    raise RuntimeError(f"{process.name} did not become ready at {url}:\n{process.log_tail()}")


@contextmanager
def run_opal_server(
    workdir: Path,
    *,
    data_config_sources: Mapping[str, object],
    policy_files: Mapping[str, str] | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[OpalServer]:
    """An opal-server (1 worker) for the duration of the block."""
    ensure_opal_venv()
    workdir.mkdir(parents=True, exist_ok=True)
    keys, port = generate_keys(), free_port()
    channel = f"pip-test-{secrets.token_hex(6)}"
    env = {
        "OPAL_SERVER_HOST": "127.0.0.1",
        "OPAL_SERVER_BIND_PORT": str(port),
        "OPAL_SERVER_WORKER_COUNT": "1",
        "OPAL_BROADCAST_URI": REDIS_URI,
        "OPAL_BROADCAST_CHANNEL_NAME": channel,
        "OPAL_AUTH_PRIVATE_KEY": keys.private_pem,
        "OPAL_AUTH_PUBLIC_KEY": keys.public_ssh,
        "OPAL_AUTH_MASTER_TOKEN": keys.master_token,
        "OPAL_POLICY_REPO_URL": str(make_policy_repo(workdir / "policy-repo", policy_files)),
        "OPAL_POLICY_REPO_MAIN_BRANCH": "main",
        "OPAL_POLICY_REPO_CLONE_PATH": str(workdir / "policy-clone"),
        "OPAL_POLICY_REPO_POLLING_INTERVAL": "0",
        "OPAL_LEADER_LOCK_FILE_PATH": str(workdir / "leader.lock"),
        "OPAL_DATA_CONFIG_SOURCES": json.dumps(dict(data_config_sources)),
        "OPAL_STATISTICS_ENABLED": "false",
        "OPAL_LOG_COLORIZE": "false",
        **(extra_env or {}),
    }
    process = _spawn("opal-server", [str(opal_bin("opal-server")), "run"], env, workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{url}/healthcheck")
        yield OpalServer(url, keys, channel, process, env)
    finally:
        process.stop()


@contextmanager
def run_opal_client(
    workdir: Path,
    *,
    server: OpalServer,
    policy_store_url: str,
    topics: list[str],
    token: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[OpalClient]:
    """An opal-client of ``server`` writing into the policy store at ``policy_store_url``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    client_token = token or server.token("client")
    env = {
        "OPAL_SERVER_URL": server.url,
        "OPAL_CLIENT_TOKEN": client_token,
        "OPAL_CLIENT_API_SERVER_HOST": "127.0.0.1",
        "OPAL_CLIENT_API_SERVER_PORT": str(port),
        "OPAL_CLIENT_API_SERVER_WORKER_COUNT": "1",
        "OPAL_INLINE_OPA_ENABLED": "false",
        "OPAL_POLICY_STORE_URL": policy_store_url,
        "OPAL_DATA_TOPICS": ",".join(topics),
        "OPAL_STORE_BACKUP_PATH": str(workdir / "backup.json"),
        "OPAL_OFFLINE_MODE_ENABLED": "false",
        "OPAL_STATISTICS_ENABLED": "false",
        "OPAL_LOG_COLORIZE": "false",
        **(extra_env or {}),
    }
    process = _spawn("opal-client", [str(opal_bin("opal-client")), "run"], env, workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{url}/healthcheck")
        yield OpalClient(url, client_token, process)
    finally:
        process.stop()
