"""Run an ASGI app (a fake SaaS API) on 127.0.0.1 in a background thread.

Usage::

    with FakeServer(app) as server:
        httpx.get(f"{server.url}/api/...")

or as a pytest fixture through :func:`serve`::

    @pytest.fixture(scope="module")
    def servicenow() -> Iterator[ServiceNowFake]:
        fake = ServiceNowFake()
        with serve(fake.app) as server:
            fake.base_url = server.url
            yield fake

The socket is bound by us on a free port (no race for a port number) with
TCP_NODELAY set, which accepted connections inherit on Linux, so keep-alive
requests don't stall on Nagle + delayed ACK (see field notes). The server runs
uvicorn with its own event loop in a daemon thread; ``stop()`` is graceful.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

import uvicorn

_START_TIMEOUT = 10.0


class FakeServer:
    """An ASGI app served by uvicorn on 127.0.0.1:<free port> in a thread."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host
        self._socket = _listening_socket(host)
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            lifespan="off",
            ws="none",
            access_log=False,
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL of the server, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeServer:
        """Start serving; returns once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"Fake server on port {self.port} did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self._server.should_exit = True
        self._thread.join(timeout=_START_TIMEOUT)
        self._socket.close()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def serve(app: Any) -> Iterator[FakeServer]:
    """Context manager (and fixture helper): serve ``app`` for the duration of the block."""
    with FakeServer(app) as server:
        yield server


def _listening_socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.setblocking(False)
    return sock
