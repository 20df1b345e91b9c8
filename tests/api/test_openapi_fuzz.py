"""Schemathesis over the whole OpenAPI (admin token; OPAL token on /opal): no 5xx, schema kept.

The app runs on a real, migrated SQLite database in an event loop of its own
(a background thread), so the runtime's engine stays on one loop while
Hypothesis drives the synchronous test function.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from pip_service.api.app import create_app
from pip_service.runtime import Runtime
from tests.api.conftest import ADMIN_TOKEN, OPAL_TOKEN, make_settings

BASE_URL = "http://pip.test"
# ignored_auth: every case carries the real admin token (bad tokens: tests/api/test_auth.py).
# positive_data_acceptance: a connection's `config` is validated against its connector's own
# schema (published at /api/v1/connectors), which the generic OpenAPI body cannot express.
EXCLUDED = [ignored_auth, positive_data_acceptance]
schema = schemathesis.openapi.from_dict(
    create_app(make_settings("sqlite+aiosqlite:///:memory:", Path("/nonexistent"))).openapi()
)
# The token is set on every case below; generating (and mutating) the Authorization header
# itself would make a "negative" case whose only invalid part is the header we replace.
schema.config.generation.update(with_security_parameters=False)


class LiveApp:
    """The app and an httpx client, living on an event loop in a background thread."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.client = self._call(self._open())

    async def _open(self) -> httpx.AsyncClient:
        await self.runtime.start()
        transport = httpx.ASGITransport(app=create_app(self.runtime))
        return httpx.AsyncClient(transport=transport, base_url=BASE_URL)

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=60)

    def request(self, kwargs: dict[str, Any]) -> httpx.Response:
        """Send one request given as ``requests``-style keyword arguments."""
        data = kwargs.pop("data", None)
        if isinstance(data, (bytes, str)):
            kwargs["content"] = data
        elif data is not None:
            kwargs["data"] = data
        kwargs.pop("files", None)
        cookies = kwargs.pop("cookies", None) or {}
        if cookies:
            kwargs["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        response: httpx.Response = self._call(self.client.request(**kwargs))
        return response

    def close(self) -> None:
        """Stop the runtime and the loop."""
        self._call(self.client.aclose())
        self._call(self.runtime.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app on a fresh SQLite database (migrated at start)."""
    directory = tmp_path_factory.mktemp("fuzz")
    url = f"sqlite+aiosqlite:///{directory / 'pip.db'}"
    app = LiveApp(Runtime(make_settings(url, directory)))
    yield app
    app.close()


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi(case: schemathesis.Case, live: LiveApp) -> None:
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    token = OPAL_TOKEN if case.path.startswith("/opal/") else ADMIN_TOKEN
    kwargs.setdefault("headers", {})["Authorization"] = f"Bearer {token}"
    response = live.request(kwargs)
    assert response.status_code < 500, response.text
    case.validate_response(response, excluded_checks=EXCLUDED)
