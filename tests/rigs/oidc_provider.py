"""A real OpenID provider (npm ``oidc-provider``) on 127.0.0.1, and a scripted browser for it.

``tests/rigs/oidc/provider.mjs`` runs one confidential client requiring PKCE
S256, refresh tokens with rotation, introspection and revocation, and the
library's dev interactions (a login form, then a consent form). ``Browser``
drives them like an admin would: it follows the provider's redirects by hand,
submits its own forms, and stops at the redirect to the PIP's callback.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest

RIG = Path(__file__).resolve().parent / "oidc"
REDIRECT_URI = "http://pip.test/oauth/callback"
ACCESS_TTL = 6


@dataclass
class OidcProvider:
    """A running provider and its one client."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    log: Path

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def introspect(self, token: str) -> dict[str, Any]:
        """RFC 7662 introspection of a token, as the client."""
        response = httpx.post(
            f"{self.issuer}/token/introspection", data={"token": token},
            auth=(self.client_id, self.client_secret),
        )  # fmt: skip
        response.raise_for_status()
        return dict(response.json())

    def revoke(self, token: str, hint: str = "refresh_token") -> None:
        """RFC 7009 revocation of a token, as the client."""
        response = httpx.post(
            f"{self.issuer}/token/revocation", data={"token": token, "token_type_hint": hint},
            auth=(self.client_id, self.client_secret),
        )  # fmt: skip
        response.raise_for_status()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ensure_installed() -> None:
    """``npm ci`` in the rig folder when node_modules is missing (scripts/services does it too)."""
    if (RIG / "node_modules" / "oidc-provider").is_dir():
        return
    if shutil.which("npm") is None:
        pytest.skip("node/npm is not installed: run scripts/services")
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=RIG, check=True,
                   capture_output=True)  # fmt: skip


def start_provider(
    log: Path, *, access_ttl: int = ACCESS_TTL
) -> tuple[subprocess.Popen[bytes], OidcProvider]:
    """Start ``provider.mjs`` and wait for its ``ready`` line."""
    ensure_installed()
    port = free_port()
    secret = "client-secret-" + os.urandom(8).hex()
    provider = OidcProvider(f"http://127.0.0.1:{port}", "pip-tests", secret, REDIRECT_URI, log)
    env = {**os.environ, "OIDC_PORT": str(port), "OIDC_CLIENT_ID": provider.client_id,
           "OIDC_CLIENT_SECRET": provider.client_secret, "OIDC_REDIRECT_URI": REDIRECT_URI,
           "OIDC_ACCESS_TTL": str(access_ttl)}  # fmt: skip
    with log.open("wb") as out:
        popen = subprocess.Popen(["node", "provider.mjs"], cwd=RIG, env=env, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    _wait_ready(popen, log)
    return popen, provider


def _wait_ready(popen: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if "ready http" in log.read_text(errors="replace"):
            return
        if popen.poll() is not None:
            raise RuntimeError(f"oidc-provider exited: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)
    popen.kill()
    raise RuntimeError("oidc-provider did not start in 20 s")


def stop_provider(popen: subprocess.Popen[bytes]) -> None:
    """SIGTERM the provider's process group and reap it."""
    if popen.poll() is None:
        os.killpg(popen.pid, signal.SIGTERM)
        try:
            popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    """The provider, started once per test session."""
    popen, provider = start_provider(tmp_path_factory.mktemp("oidc") / "provider.log")
    try:
        yield provider
    finally:
        stop_provider(popen)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": found.get("action", ""), "fields": {}})
        elif tag == "input" and self.forms and found.get("name"):
            self.forms[-1]["fields"][found["name"]] = found.get("value", "")
        elif tag == "a" and found.get("href"):
            self.links.append(found["href"])


class Browser:
    """An admin's browser at the provider: signs in, consents (or aborts), returns the callback."""

    def __init__(self, provider: OidcProvider, login: str = "alice") -> None:
        self.provider = provider
        self.login = login
        self.http = httpx.AsyncClient(follow_redirects=False, timeout=10)

    async def aclose(self) -> None:
        await self.http.aclose()

    async def authorize(self, url: str, *, abort: bool = False) -> str:
        """Follow the flow from the authorize URL; the URL the provider sends back to the PIP."""
        response = await self.http.get(url)
        for _ in range(20):
            if response.is_redirect:
                target = urljoin(str(response.url), response.headers["Location"])
                if target.startswith(self.provider.redirect_uri):
                    return target
                response = await self.http.get(target)
                continue
            response = await self._interact(response, abort)
        raise AssertionError("the provider never redirected back")

    async def _interact(self, page: httpx.Response, abort: bool) -> httpx.Response:
        parser = _Forms()
        parser.feed(page.text)
        if abort:
            link = next(href for href in parser.links if href.endswith("/abort"))
            return await self.http.get(urljoin(str(page.url), link))
        if not parser.forms:
            raise AssertionError(
                f"unexpected provider page ({page.status_code}): {page.text[:300]}"
            )
        form = parser.forms[0]
        fields = {**form["fields"], "login": self.login, "password": "any"}
        if form["fields"].get("prompt") != "login":
            fields = form["fields"]
        return await self.http.post(urljoin(str(page.url), form["action"]), data=fields)
