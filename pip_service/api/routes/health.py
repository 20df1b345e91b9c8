"""Ops: liveness and readiness."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from pydantic import BaseModel

from pip_service.api.deps import STRICT_QUERY, RuntimeDep
from pip_service.errors import UnavailableError

logger = logging.getLogger(__name__)

router = APIRouter(tags=["ops"], dependencies=[STRICT_QUERY])


class Health(BaseModel):
    """Liveness or readiness status, with each dependency's state."""

    status: str
    checks: dict[str, str] = {}


@router.get("/healthz")
async def healthz() -> Health:
    """Liveness: the process answers."""
    return Health(status="ok")


@router.get("/readyz", responses={503: {"description": "A dependency is down"}})
async def readyz(runtime: RuntimeDep) -> Health:
    """Readiness: the database and the cache answer (503 problem otherwise)."""
    checks = await runtime.check_ready()
    failing = sorted(name for name, state in checks.items() if state != "ok")
    if failing:
        errors = [{"field": name, "message": checks[name]} for name in failing]
        raise UnavailableError(f"Not ready: {', '.join(failing)} unavailable", errors=errors)
    return Health(status="ok", checks=checks)
