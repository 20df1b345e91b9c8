"""A pure ASGI middleware: correlation id in/out and request latency by route template.

Pure ASGI (not ``BaseHTTPMiddleware``) so the OPAL hot path pays almost nothing.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pip_service.api.metrics import Metrics
from pip_service.logging import CORRELATION_HEADER, clean_correlation_id, correlation_scope

logger = logging.getLogger(__name__)

_HEADER = CORRELATION_HEADER.lower().encode()


class RequestContextMiddleware:
    """Binds ``X-Correlation-ID`` (echoed or new) and times each request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(_HEADER)
        correlation_id = clean_correlation_id(incoming.decode("latin-1") if incoming else None)
        status = [500]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((_HEADER, correlation_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        began = time.perf_counter()
        with correlation_scope(correlation_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                self._observe(scope, status[0], time.perf_counter() - began)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = scope.get("route")
        template = getattr(route, "path_format", None) or getattr(route, "path", None)
        label = template or "unmatched"
        self.metrics.http_duration.labels(scope["method"], label, str(status)).observe(seconds)
