"""A sync process killed mid-run: nothing half-written shows, the lock frees, the next run works."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pip_service.errors import ConflictError
from pip_service.sync.locks import SyncLocks
from tests.conftest import Database
from tests.sync.conftest import Sync
from tests.sync.helpers import live, records, runs, snapshot, staged_count
from tests.sync.source import FakeSource

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


async def _start(db: Database, locks: SyncLocks, args: list[str], key_spec: str) -> Any:
    lock_dir = getattr(locks, "directory", "-")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.sync.killable", db.url, str(lock_dir), *args,
        cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(f"{key_spec}\n".encode())
    await proc.stdin.drain()
    return proc


async def _kill_when(proc: Any, line: str) -> None:
    assert proc.stdout is not None
    while True:
        out = await asyncio.wait_for(proc.stdout.readline(), 30)
        assert out, "the sync process ended before it could be killed"
        if out.decode().strip() == line:
            break
    os.kill(proc.pid, signal.SIGKILL)
    await proc.wait()


async def _lock_is_free(locks: SyncLocks, connection_id: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            async with locks.hold(connection_id):
                return True
        except ConflictError:
            await asyncio.sleep(0.05)
    return False


@pytest.mark.parametrize("kill_at", ["page 5", "applied"])
async def test_killed_run_leaves_no_half_written_records(
    db: Database,
    fake_source: FakeSource,
    connect: Any,
    sync: Sync,
    locks: SyncLocks,
    key_spec: str,
    kill_at: str,
) -> None:
    fake_source.fill(100)
    conn = await connect()
    await sync(conn.id)
    before = await snapshot(db, conn.id)
    extra = ["--stall-in-commit"] if kill_at == "applied" else []
    proc = await _start(db, locks, [str(conn.id), fake_source.name, "300", *extra], key_spec)

    await _kill_when(proc, kill_at)

    assert proc.returncode == -signal.SIGKILL
    assert await snapshot(db, conn.id) == before
    assert await _lock_is_free(locks, conn.id)
    assert (await runs(db, conn.id))[-1].status == "running"  # what the killed process left
    for index in range(300):
        fake_source.put(f"d{index:05d}", hostname=f"moved-{index}")
    result = await sync(conn.id, mode="full")
    assert (result.status, result.created, result.updated) == ("success", 200, 100)
    assert len(await live(db, conn.id)) == 300
    assert (await records(db, conn.id))["d00007"].data["hostname"] == "moved-7"
    interrupted = (await runs(db, conn.id))[-2]
    assert (interrupted.status, interrupted.error_code) == ("failed", "interrupted")
    assert await staged_count(db) == 0
