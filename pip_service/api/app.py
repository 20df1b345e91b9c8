"""The FastAPI application factory."""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.types import Receive, Scope, Send

import pip_service
from pip_service.api.middleware import RequestContextMiddleware
from pip_service.api.problems import install_problem_handlers
from pip_service.api.routes import (
    audit,
    catalog,
    connections,
    documents,
    health,
    metrics,
    runs,
    tokens,
)
from pip_service.api.routes import opal as opal_routes
from pip_service.config import Settings
from pip_service.runtime import Runtime

logger = logging.getLogger(__name__)

_ROUTERS = (health, metrics, connections, runs, documents, audit, catalog, tokens)
_OPTIONAL_ROUTERS: tuple[str, ...] = ("pip_service.api.routes.opal", "pip_service.api.routes.oauth")
_OPTIONAL_ROUTERS += tuple(
    f"pip_service.api.routes.{m}" for m in ("webhooks", "refresh", "opal_callbacks")
)

DESCRIPTION = """\
Admin API of the PIP service. Authenticate with `Authorization: Bearer <token>`.
Roles: **viewer** reads, **operator** also triggers and cancels syncs, **admin**
also configures (connections, tokens). Errors are RFC 9457 problem JSON.
Lists are paginated with `limit` and `cursor`; follow the `next` link.
"""


class PipApp(FastAPI):
    """FastAPI that lets OPAL's document reads skip its per-request work.

    FastAPI asks OpenTelemetry on every request whether a provider is configured
    (a few microseconds, as much as the fast path's whole answer to a 304). This
    app asks at most once a second; while no provider is configured,
    ``opal_fast_path`` answers OPAL's document reads before FastAPI does anything.
    With OpenTelemetry configured they go through FastAPI, whose request span then
    wraps the fast path in front of the middleware stack.
    """

    opal_fast_path: opal_routes.OpalDataFastPath | None = None
    _telemetry_on = False
    _telemetry_checked_until = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer an OPAL document read from the fast path, or as FastAPI does."""
        fast = self.opal_fast_path
        if fast is not None and fast.claims(scope) and not self._telemetry_enabled():
            if await fast.answer(scope, send):
                return
            scope[opal_routes.FAST_PATH_TRIED] = True  # the route answers it, no second try
        await super().__call__(scope, receive, send)

    def _telemetry_enabled(self) -> bool:
        """FastAPI's own check of its OpenTelemetry, redone at most once a second."""
        now = time.monotonic()
        if now >= self._telemetry_checked_until:
            native = getattr(self, "_native_telemetry", None)  # FastAPI versions with telemetry
            self._telemetry_on = bool(native is not None and native.enabled())
            self._telemetry_checked_until = now + 1.0
        return self._telemetry_on


def create_app(source: Runtime | Settings | None = None) -> PipApp:
    """The app around a runtime (made from settings when given settings or nothing)."""
    runtime = source if isinstance(source, Runtime) else Runtime(source or Settings())
    app = PipApp(
        title="PIP service",
        version=pip_service.__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=_lifespan,
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    for module in _ROUTERS:
        app.include_router(module.router)
    for router in _optional_routers():
        app.include_router(router)
    app.include_router(importlib.import_module("pip_service.api.routes.change_requests").router)
    app.add_middleware(RequestContextMiddleware, metrics=runtime.metrics)
    app.opal_fast_path = opal_routes.install_fast_path(app, runtime)  # OPAL's reads skip FastAPI
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    runtime: Runtime = app.state.runtime
    started_here = not runtime.started
    if started_here:
        await runtime.start()
    try:
        yield
    finally:
        if started_here:
            await runtime.stop()


def _optional_routers() -> list[APIRouter]:
    """Routers owned by other packages, included when they are installed."""
    found: list[APIRouter] = []
    for name in _OPTIONAL_ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as err:
            if err.name != name:
                raise
            logger.warning("%s is not available; its routes are not served", name)
            continue
        found.append(module.router)
    return found
