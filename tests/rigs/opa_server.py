"""An OPA-REST-compatible policy store for tests, on OPA's Go engine (opa-golib-python-bindings).

No ``opa`` binary can be installed here, so opal-client writes into this stand-in
(``OPAL_INLINE_OPA_ENABLED=false``, ``OPAL_POLICY_STORE_URL=<its url>``). It
implements the calls opal-client 0.9.9 makes (``opal_client/policy_store/opa_client.py``):

- ``PUT/GET/DELETE /v1/policies/{id}``, ``GET /v1/policies``
- ``PUT``, ``PATCH`` (``application/json-patch+json``), ``DELETE``, ``GET /v1/data{path}``
- ``POST /v1/data/{path}`` with ``{"input": ...}``
- ``GET /health``

The data document is kept as JSON here; the engine only deep-merges data, so
any write marks it stale and the next query rebuilds it from the policies and
the whole document. Production uses real OPA. ``TCP_NODELAY`` is set on every
connection: without it keep-alive requests stall ~40 ms (Nagle + delayed ACK).
"""

from __future__ import annotations

import copy
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonpatch
from opa_bindings import OpaEngine, OpaError


class StoreError(Exception):
    """An OPA-style error answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class PolicyStore:
    """Policies and data, with an OPA engine rebuilt lazily after a write."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.policies: dict[str, str] = {}
        self.writes = 0
        self._engine: OpaEngine | None = None
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)

    # -- policies ------------------------------------------------------

    def put_policy(self, policy_id: str, source: str) -> None:
        """Add or replace a Rego module (compiled first: a bad one changes nothing)."""
        with self._lock:
            candidate = {**self.policies, policy_id: source}
            _build_engine(candidate, {}).close()
            self.policies = candidate
            self._touch()

    def delete_policy(self, policy_id: str) -> None:
        """Remove a module."""
        with self._lock:
            if policy_id not in self.policies:
                raise StoreError(404, "resource_not_found", f"storage_not_found_error: {policy_id}")
            del self.policies[policy_id]
            self._touch()

    # -- data ----------------------------------------------------------

    def put_data(self, path: list[str], value: Any) -> None:
        """Create or overwrite the document at ``path`` (intermediate objects created)."""
        with self._lock:
            if not path:
                if not isinstance(value, dict):
                    raise StoreError(400, "invalid_parameter", "root must be an object")
                self.data = value
            else:
                parent = self._parent(path, create=True)
                assert parent is not None
                parent[path[-1]] = value
            self._touch()

    def patch_data(self, path: list[str], operations: list[dict[str, Any]]) -> None:
        """Apply a JSON Patch to the document at ``path``."""
        with self._lock:
            current = self._node(path)
            if current is None and path:
                raise StoreError(404, "resource_not_found", "storage_not_found_error")
            try:
                patched = _patched(current, operations)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as err:
                raise StoreError(400, "invalid_parameter", str(err)) from err
            self.put_data(path, patched)

    def delete_data(self, path: list[str]) -> None:
        """Remove the document at ``path``."""
        with self._lock:
            if not path:
                self.data = {}
            else:
                parent = self._parent(path, create=False)
                if parent is None or path[-1] not in parent:
                    raise StoreError(404, "resource_not_found", "storage_not_found_error")
                del parent[path[-1]]
            self._touch()

    def get_data(self, path: list[str]) -> Any:
        """The base document at ``path`` (a copy), or None."""
        with self._lock:
            return copy.deepcopy(self._node(path))

    def _node(self, path: list[str]) -> Any:
        """The base document at ``path`` itself (not a copy), or None."""
        node: Any = self.data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return None
            node = node[key]
        return node

    # -- queries -------------------------------------------------------

    def evaluate(self, path: list[str], input_value: Any = None) -> tuple[bool, Any]:
        """``(defined, value)`` of ``data.<path>`` with policies applied, as OPA answers it."""
        ref = "".join(f"[{json.dumps(key)}]" for key in path)
        with self._lock:
            if self._engine is None:
                self._engine = _build_engine(self.policies, self.data)
            bindings = self._engine.eval_query(f"x = data{ref}", input=input_value)
        return (True, bindings[0]["x"]) if bindings else (False, None)

    def wait_for(self, check: Callable[[PolicyStore], bool], timeout: float) -> bool:
        """Block until ``check(self)`` holds (re-checked after every write) or time runs out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not check(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True

    def _parent(self, path: list[str], *, create: bool) -> dict[str, Any] | None:
        node = self.data
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                if not create:
                    return None
                child = node[key] = {}
            node = child
        return node

    def _touch(self) -> None:
        if self._engine is not None:
            self._engine.close()
            self._engine = None
        self.writes += 1
        self._changed.notify_all()


_SHARING_OPS = frozenset({"add", "remove", "replace"})


def _patched(document: Any, operations: list[dict[str, Any]]) -> Any:
    """``document`` with a JSON Patch applied, ``document`` itself left untouched.

    Like OPA's in-memory store, the cost follows the operations, not the document:
    only the containers on each operation's path are copied, the rest is shared
    (nothing is ever mutated in place). All or nothing: an error leaves no trace.
    """
    if not all(
        isinstance(op, dict) and op.get("op") in _SHARING_OPS and op.get("path")
        for op in operations
    ):
        return jsonpatch.apply_patch(document, operations, in_place=False)
    root = _shallow(document)
    copied = {id(root)}
    for op in operations:
        parts = jsonpatch.JsonPointer(op["path"]).parts
        node = root
        for part in parts[:-1]:
            child = _member(node, part)
            if id(child) not in copied:
                child = _shallow(child)
                copied.add(id(child))
                _set(node, part, child)
            node = child
        _apply(node, parts[-1], op)
    return root


def _shallow(node: Any) -> Any:
    if isinstance(node, dict):
        return dict(node)
    if isinstance(node, list):
        return list(node)
    raise jsonpatch.JsonPointerException("a patch path goes through a scalar")


def _member(node: Any, part: str) -> Any:
    if isinstance(node, list) and not part.isdigit():
        raise jsonpatch.JsonPointerException(f"index {part!r} is not a list index")
    try:
        return node[int(part)] if isinstance(node, list) else node[part]
    except (KeyError, IndexError, ValueError, TypeError) as err:
        raise jsonpatch.JsonPointerException(f"member {part!r} not found") from err


def _set(node: Any, part: str, value: Any) -> None:
    if isinstance(node, list):
        node[int(part)] = value
    else:
        node[part] = value


def _apply(node: Any, part: str, op: dict[str, Any]) -> None:
    """One ``add``, ``remove`` or ``replace`` on a container already copied."""
    kind = op["op"]
    if kind != "remove" and "value" not in op:
        raise jsonpatch.InvalidJsonPatch(f"{kind} needs a value")
    value = copy.deepcopy(op.get("value"))
    if isinstance(node, dict):
        if kind != "add" and part not in node:
            raise jsonpatch.JsonPatchConflict(f"can't {kind} a missing member {part!r}")
        if kind == "remove":
            del node[part]
        else:
            node[part] = value
        return
    if kind == "add" and part == "-":
        node.append(value)
        return
    if not part.isdigit() or int(part) > len(node) - (kind != "add"):
        raise jsonpatch.JsonPointerException(f"index {part!r} out of range")
    index = int(part)
    if kind == "add":
        node.insert(index, value)
    elif kind == "remove":
        del node[index]
    else:
        node[index] = value


def _build_engine(policies: dict[str, str], data: dict[str, Any]) -> OpaEngine:
    engine = OpaEngine()
    try:
        for policy_id, source in sorted(policies.items()):
            engine.add_policy(policy_id, source)
        if data:
            engine.add_data(data)
    except OpaError as err:
        engine.close()
        raise StoreError(400, "invalid_parameter", str(err)) from err
    return engine


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read the store, not an access log."""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = urlsplit(self.path).path
        try:
            status, answer = _route(self.server.store, method, target, body)
        except StoreError as err:
            status, answer = err.status, {"code": err.code, "message": err.message}
        except (ValueError, OpaError) as err:
            status, answer = 400, {"code": "invalid_parameter", "message": str(err)}
        self._send(status, answer)

    def _send(self, status: int, answer: Any) -> None:
        payload = b"" if status == 204 else json.dumps(answer).encode()
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _route(store: PolicyStore, method: str, target: str, body: bytes) -> tuple[int, Any]:
    if target == "/health":
        return 200, {}
    if target == "/v1/policies" and method == "GET":
        return 200, {"result": [{"id": k, "raw": v} for k, v in sorted(store.policies.items())]}
    if target.startswith("/v1/policies/"):
        return _policy_call(store, method, unquote(target.removeprefix("/v1/policies/")), body)
    if target == "/v1/data" or target.startswith("/v1/data/"):
        path = [unquote(part) for part in target.removeprefix("/v1/data").split("/") if part]
        return _data_call(store, method, path, body)
    raise StoreError(404, "resource_not_found", f"no route for {method} {target}")


def _policy_call(store: PolicyStore, method: str, policy_id: str, body: bytes) -> tuple[int, Any]:
    if method == "PUT":
        store.put_policy(policy_id, body.decode())
        return 200, {}
    if method == "DELETE":
        store.delete_policy(policy_id)
        return 200, {}
    if method == "GET" and policy_id in store.policies:
        return 200, {"result": {"id": policy_id, "raw": store.policies[policy_id]}}
    raise StoreError(404, "resource_not_found", f"storage_policy_not_found: {policy_id}")


def _data_call(store: PolicyStore, method: str, path: list[str], body: bytes) -> tuple[int, Any]:
    if method == "PUT":
        store.put_data(path, json.loads(body or b"null"))
        return 204, None
    if method == "PATCH":
        store.patch_data(path, json.loads(body or b"[]"))
        return 204, None
    if method == "DELETE":
        store.delete_data(path)
        return 204, None
    input_value = json.loads(body).get("input") if method == "POST" and body else None
    defined, value = store.evaluate(path, input_value)
    return 200, ({"result": value} if defined else {})


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], store: PolicyStore) -> None:
        super().__init__(address, _Handler)
        self.store = store

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (opal-client stopped) is not an error worth a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class OpaStandIn:
    """A running stand-in: ``url`` for ``OPAL_POLICY_STORE_URL``, ``store`` for assertions."""

    def __init__(self, server: _Server) -> None:
        self._server = server
        self.store = server.store
        self.url = f"http://127.0.0.1:{server.server_address[1]}"


@contextmanager
def run_opa_stand_in(host: str = "127.0.0.1", port: int = 0) -> Iterator[OpaStandIn]:
    """Serve a fresh policy store on a free port (in a thread) for the duration of the block."""
    server = _Server((host, port), PolicyStore())
    thread = threading.Thread(target=server.serve_forever, name="opa-stand-in", daemon=True)
    thread.start()
    try:
        yield OpaStandIn(server)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


if __name__ == "__main__":
    with run_opa_stand_in(port=int(sys.argv[1]) if len(sys.argv) > 1 else 8181) as opa:
        print(f"OPA stand-in on {opa.url}", flush=True)
        threading.Event().wait()
