"""Shared helpers of the API tests."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import func, select

from pip_service.audit.models import AuditEvent
from pip_service.auth.models import ApiToken
from pip_service.connections.models import Connection
from pip_service.runtime import Runtime
from pip_service.sync.models import SyncRun

PROBLEM = "application/problem+json"
SMALL_DEMO = {
    "users": 10, "devices": 25, "applications": 5, "deployments": 5, "changes": 5,
    "audit_events": 10, "seed": 7,
}  # fmt: skip


async def row_counts(runtime: Runtime) -> dict[str, int]:
    """How many connections, tokens, runs and audit events are stored."""
    counts = {}
    async with runtime.sessions() as session:
        for model in (Connection, ApiToken, AuditEvent, SyncRun):
            query = select(func.count()).select_from(model)
            counts[model.__tablename__] = int(await session.scalar(query) or 0)
    return counts


async def wait_for_run(
    client: httpx.AsyncClient, run_id: int, headers: dict[str, str], seconds: float = 60
) -> dict[str, Any]:
    """Poll a sync run until it is no longer running."""
    for _ in range(int(seconds / 0.05)):
        body: dict[str, Any] = (
            await client.get(f"/api/v1/sync-runs/{run_id}", headers=headers)
        ).json()
        if body["status"] != "running":
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"run {run_id} still running after {seconds} s")


def field_names(problem: dict[str, Any]) -> set[str]:
    """The fields a problem names."""
    return {item["field"] for item in problem["errors"]}
