"""Benchmark: sync 50,000 devices from the ServiceNow Table API fake into records.

    .venv/bin/python benchmarks/sync_devices.py [--devices 50000] [--page-size 1000]

The fake (tests/fakes/servicenow.py) is served by uvicorn in a process of its
own, as a real instance would be remote. Then, for SQLite and for PostgreSQL,
each in a fresh subprocess so its peak RSS is its own:

- ``read``: the connector alone reads every page (no database): the baseline;
- ``first``: the engine's first full run of a new connection (nothing stored);
- ``again``: a second full run with nothing changed (source hashes skip
  normalizing, content hashes skip writes);
- ``incremental``: a run in the default mode (resumes from the saved cursor);
- ``replay-first`` / ``replay-again`` (in a third process, after an unmeasured
  read): the same 50,000 normalized records replayed from memory into a second
  connection, twice: the engine's own work, without the HTTP reads and the
  connector's normalization (its peak RSS includes the 50,000 records held).

The fake renders each row once and then serves it from memory, as a real
instance serves from its database; an unmeasured read first warms it, so
every measured run reads the same way. Printed: wall seconds, peak RSS during
each run, and ratios against the baseline measured in the same run. Floors
(issue 2): a run <= 20 s and <= 500 MB; ``first / again`` >= 3, as the median
of ``--rounds`` pairs (default 3, each on a new connection: this machine is
noisy). Exit status 1 when a floor is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import httpx
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import create_pg_database, measured, served_in_process  # noqa: E402

from connectors.base import registry  # noqa: E402
from connectors.base.canonical import CanonicalDevice  # noqa: E402
from connectors.base.connector import Connector  # noqa: E402
from connectors.base.stream import Page, Stream, SyncContext  # noqa: E402
from connectors.base.types import Category  # noqa: E402
from connectors.servicenow import ServiceNowConfig, ServiceNowConnector  # noqa: E402

FLOOR_SECONDS, FLOOR_RSS_MB, FLOOR_RATIO = 20.0, 500.0, 3.0
PG_ADMIN_URL = os.environ.get("PIP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


# --- the fake, in its own process ------------------------------------------------------


def _serve_fake(devices: int, conn: Any) -> None:
    from tests.fakes.server import FakeServer
    from tests.fakes.servicenow import ServiceNowFake

    fake = ServiceNowFake(devices)
    server = FakeServer(fake.app).start()
    conn.send((server.url, fake.username, fake.password))
    conn.recv()  # until told to stop
    server.stop()


# --- measuring ----------------------------------------------------------------------------


async def _measure(name: str, work: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    with measured() as took:
        figures = await work()
    return {"name": name, "seconds": took.seconds, "peak_rss_mb": took.peak_rss_mb, **figures}


# --- one backend, in a worker subprocess ------------------------------------------------------


class ReplayConfig(BaseModel):
    """No settings: the replay connector yields the pages the read run captured."""


class ReplayStream(Stream):
    """The ServiceNow computers as already normalized records: the engine's work alone."""

    name = "computers"
    record_model = CanonicalDevice
    captured: ClassVar[list[Page]] = []

    async def pages(self, context: SyncContext) -> AsyncIterator[Page]:
        """The captured pages, again."""
        for page in self.captured:
            yield page


class ReplayConnector(Connector[ReplayConfig]):
    """Registered as ``replay`` inside the worker."""

    slug = "replay"
    title = "Replay"
    category = Category.CMDB
    config_model = ReplayConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (ReplayStream,)


async def _worker(backend: str, server: dict[str, str], page_size: int) -> list[dict[str, Any]]:
    from pip_service.db.migrate import upgrade_async
    from pip_service.db.session import create_engine, session_factory
    from pip_service.secrets.crypto import KeyRing, generate_key
    from pip_service.sync.locks import FileLocks, PostgresLocks, SyncLocks

    real = registry.get_connector_class
    registry.get_connector_class = lambda slug: ReplayConnector if slug == "replay" else real(slug)
    url, workdir = server["database_url"], Path(server["workdir"])
    await upgrade_async(url)
    engine = create_engine(url)
    locks: SyncLocks = FileLocks(workdir / "locks") if backend == "sqlite" else PostgresLocks(url)
    keyring = KeyRing.parse(f"bench:{generate_key()}")
    bench = _Bench(session_factory(engine), keyring, locks, int(server.get("rounds", 3)))
    config = {
        "instance_url": server["url"], "username": server["username"],
        "password": server["password"], "page_size": page_size,
        "read_relationships": False, "read_changes": False,  # the devices are what is measured
    }  # fmt: skip
    try:
        return await bench.all_runs(config, server["part"])
    finally:
        await locks.aclose()
        await engine.dispose()


class _Bench:
    """The measured runs of one backend."""

    def __init__(self, sessions: Any, keyring: Any, locks: Any, rounds: int = 3) -> None:
        self.sessions, self.keyring, self.locks = sessions, keyring, locks
        self.rounds = rounds

    async def all_runs(self, config: dict[str, Any], part: str) -> list[dict[str, Any]]:
        """The ServiceNow runs, or (in a process of its own) the replay runs."""
        async with httpx.AsyncClient(timeout=60) as client:
            if part == "replay":
                await self.read(config, client, keep=True)
                replay = await self.connection("replay", "replay", {})
                return [
                    await _measure("replay-first", lambda: self.sync(replay, "full", client)),
                    await _measure("replay-again", lambda: self.sync(replay, "full", client)),
                ]
            await self.read(config, client)  # unmeasured: the fake renders each row once
            rows = [await _measure("read", lambda: self.read(config, client))]
            for index in range(1, self.rounds + 1):  # each round: a new connection
                cmdb = await self.connection(f"cmdb-{index}", "servicenow", config)
                for name in ("first", "again"):
                    row = await _measure(name, partial(self.sync, cmdb, "full", client))
                    rows.append({**row, "round": index})
            rows.append(await _measure("incremental", partial(self.sync, cmdb, None, client)))
            return rows

    async def connection(self, name: str, connector_type: str, config: dict[str, Any]) -> int:
        from pip_service.connections.service import create_connection

        async with self.sessions.begin() as session:
            made = await create_connection(
                session, name=name, connector_type=connector_type, config=config,
                actor="bench", keyring=self.keyring,
            )  # fmt: skip
        return int(made.id)

    async def read(
        self, config: dict[str, Any], client: httpx.AsyncClient, *, keep: bool = False
    ) -> dict[str, Any]:
        """The connector alone (no database); ``keep`` holds the pages for the replay runs."""
        connector = ServiceNowConnector(ServiceNowConfig.model_validate(config), http_client=client)
        fetched = 0
        for stream in connector.get_streams():
            async for page in stream.pages(SyncContext(started_at=datetime.now(UTC))):
                fetched += len(page.records)
                if keep:
                    ReplayStream.captured.append(page)
        return {"fetched": fetched}

    async def sync(
        self, connection_id: int, mode: str | None, client: httpx.AsyncClient
    ) -> dict[str, Any]:
        """One engine run."""
        from pip_service.sync.engine import run_sync

        result = await run_sync(
            sessions=self.sessions, connection_id=connection_id, mode=mode,  # type: ignore[arg-type]
            keyring=self.keyring, locks=self.locks, http_client=client,
        )  # fmt: skip
        assert result.status == "success", result.error
        keys = ("mode", "fetched", "created", "updated", "unchanged", "deleted")
        return {key: getattr(result, key) for key in keys}


def _run_worker(backend: str, server: dict[str, str], page_size: int) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", backend, "--page-size", str(page_size)],
        input=json.dumps(server), capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{backend} worker failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# --- databases --------------------------------------------------------------------------------


# --- report -----------------------------------------------------------------------------------


def _report(backend: str, rows: list[dict[str, Any]]) -> list[str]:
    by_name = {row["name"]: row for row in rows}
    base = by_name["read"]["seconds"]
    print(f"\n{backend}")
    print(f"  {'run':<14}{'seconds':>9}{'peak MB':>9}{'x read':>8}  counts")
    for row in rows:
        counts = {k: row[k] for k in ("fetched", "created", "updated", "unchanged") if k in row}
        ratio = row["seconds"] / base if base else 0
        name = f"{row['name']} #{row['round']}" if "round" in row else row["name"]
        figures = f"{row['seconds']:>9.2f}{row['peak_rss_mb']:>9.1f}{ratio:>8.2f}"
        print(f"  {name:<14}{figures}  {counts}")
    rounds: dict[int, dict[str, float]] = {}
    for row in rows:
        if "round" in row:
            rounds.setdefault(row["round"], {})[row["name"]] = row["seconds"]
    speedups = [r["first"] / max(r["again"], 1e-9) for _, r in sorted(rounds.items())]
    speedup = statistics.median(speedups)
    listed = ", ".join(f"{value:.2f}x" for value in speedups)
    print(f"  first / again (nothing changed), per round: {listed}; median {speedup:.2f}x")
    replay = by_name["replay-first"]["seconds"] / max(by_name["replay-again"]["seconds"], 1e-9)
    print(f"  engine only, replay-first / replay-again: {replay:.2f}x")
    misses = [
        f"{backend} {row['name']}: {row['seconds']} s > {FLOOR_SECONDS}"
        for row in rows if row["seconds"] > FLOOR_SECONDS
    ] + [
        f"{backend} {row['name']}: {row['peak_rss_mb']} MB > {FLOOR_RSS_MB}"
        for row in rows if row["peak_rss_mb"] > FLOOR_RSS_MB
    ]  # fmt: skip
    if speedup < FLOOR_RATIO:
        misses.append(f"{backend}: second run only {speedup:.2f}x faster (floor {FLOOR_RATIO}x)")
    return misses


def main() -> None:
    """Serve the fake, run both backends, print the figures, check the floors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=3, help="first/again pairs per backend")
    parser.add_argument("--worker", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    if args.worker:
        server = json.loads(sys.stdin.read())
        print(json.dumps(asyncio.run(_worker(args.worker, server, args.page_size))))
        return
    began = time.perf_counter()
    misses: list[str] = []
    with served_in_process(_serve_fake, args.devices, timeout=10) as fake:
        url, username, password = fake.recv()
        took = time.perf_counter() - began
        print(f"fake ServiceNow with {args.devices:,} computers at {url} ({took:.1f} s to start)")
        for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
            with tempfile.TemporaryDirectory() as workdir:
                drop: Callable[[], None] = lambda: None  # noqa: E731
                if backend == "sqlite":
                    database_url = f"sqlite+aiosqlite:///{workdir}/pip.db"
                else:
                    database_url, drop = create_pg_database(PG_ADMIN_URL)
                server = {"url": url, "username": username, "password": password,
                          "database_url": database_url, "workdir": workdir,
                          "rounds": args.rounds}  # fmt: skip
                try:
                    rows = [
                        row
                        for part in ("servicenow", "replay")
                        for row in _run_worker(backend, {**server, "part": part}, args.page_size)
                    ]
                    misses += _report(backend, rows)
                finally:
                    drop()
    print(
        "\nfloors: run <= 20 s, peak <= 500 MB, first/again >= 3x:", "MISSED" if misses else "met"
    )
    for miss in misses:
        print(f"  {miss}")
    sys.exit(1 if misses else 0)


if __name__ == "__main__":
    main()
