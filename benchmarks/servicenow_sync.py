"""Benchmark: a whole ServiceNow instance through the sync engine on SQLite.

    .venv/bin/python benchmarks/servicenow_sync.py [--cis 50000] [--relationships 100000]
        [--changes 10000] [--page-size 1000] [--changed 0.01]

The fake (tests/fakes/servicenow.py) serves the CIs, ``cmdb_rel_ci`` edges and
change requests (two affected CIs each, two approvals for most) from a process
of its own, as a real instance would be remote. This process runs the engine
(``run_sync``) into a fresh SQLite file:

- ``full``: the first run (every stream read in full);
- ``incremental``: after ``--changed`` of the CIs, edges and changes (and
  the changes' approvals) were updated at the source.

Printed: wall seconds (and this process's CPU seconds, which other load on
the machine disturbs less), records fetched/created/updated, and peak RSS of
this process during each run. Floors (issue 8): full <= 60 s, incremental <= 5 s,
peak RSS <= 1 GB. Exit status 1 when a floor is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import measured, served_in_process  # noqa: E402

FLOORS = {"full": 60.0, "incremental": 5.0}
FLOOR_RSS_MB = 1024.0


def _serve_fake(sizes: dict[str, int], conn: Any) -> None:
    """The fake instance; answers ``("change", share)`` by updating that share of every table."""
    from tests.fakes.server import FakeServer
    from tests.fakes.servicenow import ServiceNowFake

    fake = ServiceNowFake(
        sizes["cis"], relationships=sizes["relationships"], changes=sizes["changes"]
    )
    server = FakeServer(fake.app).start()
    conn.send((server.url, fake.username, fake.password))
    while (message := conn.recv()) != "stop":
        conn.send(_change(fake, message[1]))
    server.stop()


def _change(fake: Any, share: float) -> dict[str, int]:
    touched: dict[str, int] = {}
    for table, fields in (
        ("cmdb_ci_computer", {"os_version": "bench-1"}),
        ("cmdb_rel_ci", {}),
        ("change_request", {"state": "-2", "approval": "approved"}),
    ):
        rows = fake.rows(table)
        ids = [row["sys_id"] for row in rows[:: max(1, round(1 / share))]]
        fake.touch(ids, table=table, **fields)
        touched[table] = len(ids)
    decided = {r["sys_id"] for r in fake.rows("change_request") if r["state"] == "-2"}
    approvals = [
        a["sys_id"] for a in fake.rows("sysapproval_approver") if a["sysapproval"] in decided
    ]
    fake.touch(
        approvals[: touched["change_request"] * 2], table="sysapproval_approver", state="approved"
    )
    return touched


async def _run(name: str, bench: Any, connection_id: int, mode: str | None) -> dict[str, Any]:
    from pip_service.sync.engine import run_sync

    with measured() as took:
        result = await run_sync(
            sessions=bench["sessions"], connection_id=connection_id, mode=mode,  # type: ignore[arg-type]
            keyring=bench["keyring"], locks=bench["locks"],
        )  # fmt: skip
    if result.status != "success":
        raise SystemExit(f"{name} run failed: {result.error}")
    return {
        "run": name, "mode": result.mode, "seconds": took.seconds,
        "cpu_seconds": took.cpu_seconds,
        "fetched": result.fetched, "created": result.created, "updated": result.updated,
        "deleted": result.deleted, "peak_rss_mb": took.peak_rss_mb,
    }  # fmt: skip


async def _bench(
    server: tuple[str, str, str], conn: Any, args: argparse.Namespace
) -> list[dict[str, Any]]:
    from pip_service.connections.service import create_connection
    from pip_service.db.migrate import upgrade_async
    from pip_service.db.session import create_engine, session_factory
    from pip_service.secrets.crypto import KeyRing, generate_key
    from pip_service.sync.locks import FileLocks

    with tempfile.TemporaryDirectory() as workdir:
        url = f"sqlite+aiosqlite:///{workdir}/bench.db"
        await upgrade_async(url)
        engine = create_engine(url)
        keyring = KeyRing.parse(f"b:{generate_key()}")
        locks = FileLocks(Path(workdir) / "locks")
        bench: dict[str, Any] = {
            "sessions": session_factory(engine),
            "keyring": keyring,
            "locks": locks,
        }
        config = {"instance_url": server[0], "username": server[1], "password": server[2],
                  "page_size": args.page_size}  # fmt: skip
        async with bench["sessions"].begin() as session:
            made = await create_connection(
                session, name="snow", connector_type="servicenow", config=config,
                actor="bench", keyring=bench["keyring"],
            )  # fmt: skip
        try:
            full = await _run("full", bench, made.id, "full")
            conn.send(("change", args.changed))
            touched = conn.recv()
            incremental = await _run("incremental", bench, made.id, None)
            return [full, {**incremental, "touched": touched}]
        finally:
            await bench["locks"].aclose()
            await engine.dispose()


def _report(rows: list[dict[str, Any]]) -> bool:
    ok = True
    for row in rows:
        floor = FLOORS[row["run"]]
        passed = row["seconds"] <= floor and row["peak_rss_mb"] <= FLOOR_RSS_MB
        ok &= passed
        extra = f"  touched {row['touched']}" if "touched" in row else ""
        print(
            f"{row['run']:<12} {row['mode']:<12} {row['seconds']:>7.2f} s (floor {floor:.0f} s, "
            f"engine CPU {row['cpu_seconds']:.1f} s)  "
            f"peak RSS {row['peak_rss_mb']:>7.1f} MB (floor {FLOOR_RSS_MB:.0f})  "
            f"fetched {row['fetched']:>7}  created {row['created']:>7}  updated {row['updated']:>6}"
            f"  deleted {row['deleted']}  {'ok' if passed else 'MISSED'}{extra}"
        )
    return ok


def main() -> int:
    """Run the benchmark; 0 when every floor holds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cis", type=int, default=50_000)
    parser.add_argument("--relationships", type=int, default=100_000)
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()
    sizes = {"cis": args.cis, "relationships": args.relationships, "changes": args.changes}
    with served_in_process(_serve_fake, sizes, timeout=30) as fake:
        server = fake.recv()
        print(f"ServiceNow fake: {sizes}; page size {args.page_size}; {args.changed:.0%} changed")
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        rows = asyncio.run(_bench(server, fake, args))
    return 0 if _report(rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
