"""Benchmark: seed the full seed-000 demo dataset through the sync engine.

    .venv/bin/python benchmarks/demo_seed.py [--backend sqlite|postgres|all] [--scale 1.0]

Each measurement runs in a fresh subprocess (so its peak RSS is its own):

- ``generate`` (the baseline): the demo connector's streams turned into stored
  rows (canonical JSON + content hash) with no database at all;
- ``sqlite`` / ``postgres``: ``seed_demo`` into a freshly migrated database
  (first seeding, then a second one that finds nothing changed), then ``clear_demo``.

Prints wall seconds, records per second and peak RSS, the ratio of seeding to
generation and of the unchanged re-seed to the first, and the floor (first
seeding <= 60 s). PostgreSQL: ``PIP_BENCH_PG_URL`` (default the test server).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import create_pg_database, peak_rss_mb

from connectors.base.stream import SyncContext
from connectors.demo import DemoConfig, DemoConnector
from pip_service.db.migrate import upgrade
from pip_service.db.session import create_engine, session_factory
from pip_service.demo import clear_demo, seed_demo
from pip_service.secrets.crypto import KeyRing, generate_key
from pip_service.sync.locks import FileLocks, PostgresLocks, SyncLocks
from pip_service.sync.writer import to_row

FLOOR_SECONDS = 60.0
PG_ADMIN_URL = os.environ.get("PIP_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
COUNTED = ("users", "devices", "applications", "deployments", "changes", "audit_events")


def overrides(scale: float) -> dict[str, Any]:
    """The seed-000 counts (scaled), at a fixed reference time."""
    defaults = DemoConfig()
    counts = {name: max(1, round(getattr(defaults, name) * scale)) for name in COUNTED}
    counts["users"] = max(counts["users"], 10)
    return {**counts, "now": "2026-01-06T00:00:00Z"}


async def generate(scale: float) -> dict[str, Any]:
    """Baseline: every record generated, serialized and hashed, no database."""
    connector = DemoConnector(DemoConfig.model_validate(overrides(scale)))
    context = SyncContext(started_at=datetime.now(UTC))
    began, records = time.perf_counter(), 0
    for stream in connector.get_streams():
        async for page in stream.pages(context):
            records += len([to_row(record) for record in page.records])
    return {"seconds": time.perf_counter() - began, "records": records, "rss_mb": peak_rss_mb()}


@asynccontextmanager
async def database(backend: str, workdir: Path) -> AsyncIterator[tuple[str, SyncLocks]]:
    """A freshly migrated database and the lock backend production would use with it."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'pip.db'}"
        await asyncio.to_thread(upgrade, url)
        yield url, FileLocks(workdir / "locks")
        return
    url, drop = create_pg_database(PG_ADMIN_URL)
    try:
        await asyncio.to_thread(upgrade, url)
        locks = PostgresLocks(url)
        yield url, locks
        await locks.aclose()
    finally:
        drop()


async def seed(backend: str, scale: float) -> dict[str, Any]:
    """First seeding, an unchanged re-seed and a clear, on one backend."""
    keyring = KeyRing.parse(f"bench:{generate_key()}")
    with tempfile.TemporaryDirectory() as tmp:
        async with database(backend, Path(tmp)) as (url, locks):
            engine = create_engine(url)
            sessions = session_factory(engine)
            figures = await _timed_seeding(sessions, keyring, locks, scale)
            began = time.perf_counter()
            cleared = await clear_demo(sessions=sessions)
            figures["clear_seconds"] = time.perf_counter() - began
            figures["cleared_records"] = cleared.records
            await engine.dispose()
    figures["rss_mb"] = peak_rss_mb()
    return figures


async def _timed_seeding(
    sessions: Any, keyring: KeyRing, locks: SyncLocks, scale: float
) -> dict[str, Any]:
    args = {"sessions": sessions, "keyring": keyring, "locks": locks, "overrides": overrides(scale)}
    began = time.perf_counter()
    first = await seed_demo(**args)
    first_seconds = time.perf_counter() - began
    began = time.perf_counter()
    second = await seed_demo(**args)
    second_seconds = time.perf_counter() - began
    if not (first.ok and second.ok):
        raise SystemExit(f"seeding failed: {first.sync.error or second.sync.error}")
    return {
        "seconds": first_seconds,
        "records": first.sync.created,
        "second_seconds": second_seconds,
        "second_unchanged": second.sync.unchanged,
    }


def worker(kind: str, scale: float) -> None:
    """Run one measurement and print it as JSON on stdout."""
    figures = asyncio.run(generate(scale) if kind == "generate" else seed(kind, scale))
    print(json.dumps(figures))


def measure(kind: str, scale: float) -> dict[str, Any]:
    """One measurement in a fresh interpreter."""
    command = [sys.executable, __file__, "--worker", kind, "--scale", str(scale)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report(baseline: dict[str, Any], results: dict[str, dict[str, Any]], scale: float) -> bool:
    """Print the figures and ratios; whether every backend met the floor."""
    records = baseline["records"]
    print(f"demo dataset: {records:,} records (scale {scale})")
    print(f"{'run':<10} {'seconds':>8} {'rec/s':>9} {'peak RSS MB':>12} {'vs generate':>12}"
          f" {'re-seed s':>10} {'re-seed/first':>14} {'clear s':>8}")  # fmt: skip
    print(f"{'generate':<10} {baseline['seconds']:8.2f} {records / baseline['seconds']:9.0f}"
          f" {baseline['rss_mb']:12.1f} {1.0:11.2f}x")  # fmt: skip
    ok = True
    for backend, r in results.items():
        ratio = r["seconds"] / baseline["seconds"]
        again = r["second_seconds"] / r["seconds"]
        print(f"{backend:<10} {r['seconds']:8.2f} {r['records'] / r['seconds']:9.0f}"
              f" {r['rss_mb']:12.1f} {ratio:11.2f}x {r['second_seconds']:10.2f}"
              f" {again:13.2f}x {r['clear_seconds']:8.2f}")  # fmt: skip
        ok &= r["records"] == records and r["second_unchanged"] == records
        ok &= r["cleared_records"] == records and r["seconds"] <= FLOOR_SECONDS
    verdict = "met" if ok else "NOT met"
    print(
        f"floor: first seeding <= {FLOOR_SECONDS:.0f} s on every backend, counts exact: {verdict}"
    )
    return ok


def main() -> None:
    """Parse arguments and run the benchmark (or one worker)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "all"], default="all")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full dataset")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.scale)
        return
    backends = ["sqlite", "postgres"] if args.backend == "all" else [args.backend]
    baseline = measure("generate", args.scale)
    results = {backend: measure(backend, args.scale) for backend in backends}
    sys.exit(0 if report(baseline, results, args.scale) else 1)


if __name__ == "__main__":
    main()
