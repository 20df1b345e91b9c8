"""A fake HashiCorp Vault KV v2 server, following Vault's API docs for "Read secret version".

https://developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version:
``GET /v1/:mount/data/:path`` with ``X-Vault-Token``; 200 answers
``{"data": {"data": {...}, "metadata": {...}}}``, an unknown path 404 with
``{"errors": []}``, a bad token 403 with ``{"errors": ["permission denied"]}``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeVault:
    """Secrets by ``mount/path``, the one valid token, and the paths read."""

    url: str
    token: str
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    reads: list[str] = field(default_factory=list)


def _handler(vault: FakeVault) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            vault.reads.append(self.path)
            if self.headers.get("X-Vault-Token") != vault.token:
                return self._answer(403, {"errors": ["permission denied"]})
            parts = self.path.removeprefix("/v1/").split("/", 2)
            if len(parts) != 3 or parts[1] != "data":
                return self._answer(404, {"errors": []})
            data = vault.secrets.get(f"{parts[0]}/{parts[2]}")
            if data is None:
                return self._answer(404, {"errors": []})
            metadata = {"created_time": "2026-11-01T00:00:00Z", "custom_metadata": None,
                        "deletion_time": "", "destroyed": False, "version": 1}  # fmt: skip
            body = {"request_id": "r1", "lease_id": "", "renewable": False, "lease_duration": 0,
                    "wrap_info": None, "warnings": None, "auth": None,
                    "data": {"data": data, "metadata": metadata}}  # fmt: skip
            return self._answer(200, body)

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            return

    return Handler


@contextmanager
def fake_vault(token: str = "s.test-vault-token") -> Iterator[FakeVault]:
    """Serve a FakeVault on 127.0.0.1 for the block."""
    vault = FakeVault(url="", token=token)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(vault))
    vault.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield vault
    finally:
        server.shutdown()
        server.server_close()
