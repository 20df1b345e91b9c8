"""What the fake SaaS APIs share: JSON and OAuth answers, form bodies and programmed faults.

Two fault models serve the fakes:

- :class:`Faults`: a queue of answers for the next requests plus one 1-based page
  that keeps failing with 500 (each fake decides which requests count as pages);
- :class:`ListFaults`: the same queue plus, from the n-th page of one named list
  served from now on, a fault that repeats ``times`` times (None: forever).

A fake holding ``faults: Faults`` gets ``fail_next``/``fail_on_page`` from
:class:`FaultControls`, one holding ``faults: ListFaults`` (and ``_lock``) from
:class:`ListFaultControls`. Rendering a fault stays with each fake (vendor error bodies).
"""

from __future__ import annotations

import threading
import urllib.parse
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response serialized with orjson."""
    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def oauth_error(status: int, code: str, description: str) -> Response:
    """An OAuth 2.0 token endpoint error (RFC 6749 section 5.2)."""
    return json_response(status, {"error": code, "error_description": description})


async def read_form(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (last value of each field)."""
    pairs = urllib.parse.parse_qsl((await request.body()).decode(), keep_blank_values=True)
    return dict(pairs)


@dataclass
class Fault:
    """One programmed answer instead of the real one."""

    status: int
    retry_after: str | None = None
    garbage: bool = False
    reason: str | None = None


@dataclass
class Faults:
    """Programmed faults: a queue and a page that keeps failing."""

    queue: deque[Fault] = field(default_factory=deque)
    failing_page: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(
        self,
        status: int,
        times: int,
        retry_after: str | None,
        garbage: bool,
        reason: str | None = None,
    ) -> None:
        """Answer the next ``times`` requests with ``status``."""
        with self.lock:
            self.queue.extend(Fault(status, retry_after, garbage, reason) for _ in range(times))

    def clear(self) -> None:
        """Forget every programmed fault."""
        with self.lock:
            self.queue.clear()
            self.failing_page = None

    def pop(self) -> Fault | None:
        """The next queued fault, if any."""
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def next(self, page: int, error: Callable[[int], Response]) -> Response | None:
        """The programmed answer for a request of 1-based ``page``, if any."""
        fault = self.pop()
        if fault is None and self.failing_page == page:
            fault = Fault(500)
        if fault is None:
            return None
        if fault.garbage:
            return Response(b"<html><body>Maintenance</body></html>", 200, media_type="text/html")
        headers = {"Retry-After": fault.retry_after} if fault.retry_after else None
        response = error(fault.status)
        response.headers.update(headers or {})
        return response


class FaultControls:
    """The test controls of a fake whose faults are a :class:`Faults`."""

    faults: Faults

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: str | None = None, garbage: bool = False
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (or 200 garbage)."""
        self.faults.add(status, times, retry_after, garbage)

    def fail_on_page(self, page: int) -> None:
        """Answer every request for 1-based ``page`` with 500 until reset."""
        self.faults.failing_page = page


@dataclass
class ListFaults:
    """A queue of faults plus a page of one named list that fails; the caller holds a lock."""

    queue: deque[Fault] = field(default_factory=deque)
    failing: tuple[str, int, Fault, int | None] | None = None
    served: dict[str, int] = field(default_factory=dict)

    def add(self, status: int, times: int, retry_after: str | None, garbage: bool) -> None:
        """Answer the next ``times`` requests with ``status`` (or a 200 that is not JSON)."""
        self.queue.extend(Fault(status, retry_after, garbage) for _ in range(times))

    def fail_on_page(self, name: str, page: int, fault: Fault, times: int | None) -> None:
        """From the ``page``-th page of list ``name`` served from now on, answer ``fault``."""
        self.failing = (name, page, fault, times)
        self.served = {}

    def next(self, name: str | None) -> Fault | None:
        """The programmed answer for a request (of a page of list ``name``), if any."""
        return self.queue.popleft() if self.queue else self._page_fault(name)

    def _page_fault(self, name: str | None) -> Fault | None:
        if self.failing is None or name is None or name != self.failing[0]:
            return None
        wanted, page, fault, times = self.failing
        self.served[name] = self.served.get(name, 0) + 1
        if self.served[name] < page:
            return None
        if times is not None:
            self.failing = (wanted, page, fault, times - 1) if times > 1 else None
        self.served[name] -= 1
        return fault


class ListFaultControls:
    """The test controls of a fake whose faults are a :class:`ListFaults` guarded by ``_lock``."""

    faults: ListFaults
    _lock: threading.Lock

    def fail_next(
        self, status: int, *, times: int = 1, retry_after: str | None = None, garbage: bool = False
    ) -> None:
        """Answer the next ``times`` requests with ``status`` (or a 200 that is not JSON)."""
        with self._lock:
            self.faults.add(status, times, retry_after, garbage)

    def fail_on_page(
        self,
        page: int,
        name: str,
        status: int = 500,
        *,
        times: int | None = None,
        retry_after: str | None = None,
        garbage: bool = False,
    ) -> None:
        """From the ``page``-th page of list ``name`` served from now on, fail (None: forever)."""
        with self._lock:
            self.faults.fail_on_page(name, page, Fault(status, retry_after, garbage), times)
