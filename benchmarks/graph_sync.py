"""Benchmark: 100,000 users + 5,000 groups from the Microsoft Graph fake, full then delta.

    .venv/bin/python benchmarks/graph_sync.py [--users 100000] [--groups 5000] [--no-engine]

The fake (tests/fakes/graph.py) runs in its own process (``--serve``) so it
does not share the connector's interpreter; told to on stdin, it changes 1 %
of the users (and 1 % of those counts in groups, 0.05 % of groups) in place.
Each measured part runs in a fresh subprocess so its peak RSS is its own:

- ``read``: the connector's users and groups streams, full then incremental
  (delta after 1 % of users changed), no database;
- ``sync``: the sync engine on a fresh SQLite file: full, then 1 % changed
  and an incremental run.

Floors (issue 4): full <= 60 s, delta <= 5 s, peak RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import peak_rss_mb  # noqa: E402

FLOORS = {"full_seconds": 60.0, "incremental_seconds": 5.0, "rss_mb": 1024.0}
STREAMS = ("users", "groups")


def serve(users: int, groups: int) -> None:
    """Run the fake; print its URL and config; on a stdin line ``change``, change 1 % of users."""
    from tests.fakes.graph import GraphFake
    from tests.fakes.server import FakeServer

    fake = GraphFake()
    fake.reset(users=users, groups=groups, devices=0, group_size=20)
    fake.delta_page_size = 1000
    with FakeServer(fake.app) as server:
        fake.base_url = server.url
        print(json.dumps({"url": server.url, "tenant_id": fake.tenant_id,
                          "client_id": fake.client_id,
                          "client_secret": fake.identity.client_secret}), flush=True)  # fmt: skip
        for line in sys.stdin:
            if line.strip() == "change":
                _change(fake, users // 100)
                print("changed", flush=True)


def _change(fake: Any, count: int) -> None:
    ids = fake.directory.ids("users")[:: max(len(fake.directory.ids("users")) // count, 1)][:count]
    for oid in ids:
        fake.directory.objects["users"][oid]["jobTitle"] = "Changed"
    fake.directory.touch("users", ids)
    groups = fake.directory.ids("groups")[: max(count // 20, 1)]
    fake.directory.touch("groups", groups)


def config(info: dict[str, Any]) -> dict[str, Any]:
    """The Entra ID connection config for the fake."""
    return {
        "tenant_id": info["tenant_id"], "client_id": info["client_id"],
        "client_secret": info["client_secret"], "authority_url": info["url"],
        "graph_url": info["url"], "page_size": 999,
    }  # fmt: skip


async def read(info: dict[str, Any], change: Any) -> dict[str, Any]:
    """Both streams through the connector: full, then incremental after the change."""
    import httpx

    from connectors.base.registry import parse_config
    from connectors.base.stream import SyncContext
    from connectors.entra import EntraConnector

    figures: dict[str, Any] = {}
    cursors: dict[str, Any] = {}
    async with httpx.AsyncClient(timeout=60) as client:
        connector = EntraConnector(parse_config(EntraConnector, config(info)), http_client=client)  # type: ignore[arg-type]
        for mode in ("full", "incremental"):
            if mode == "incremental":
                change()
            began, count = time.perf_counter(), 0
            for stream in connector.get_streams():
                if stream.name not in STREAMS:
                    continue
                context = SyncContext(datetime.now(UTC), mode, cursors.get(stream.name))
                async for page in stream.pages(context):
                    count += len(page.records)
                    cursors[stream.name] = page.cursor or cursors.get(stream.name)
            figures[f"{mode}_seconds"] = round(time.perf_counter() - began, 2)
            figures[f"{mode}_records"] = count
    return figures | {"rss_mb": peak_rss_mb()}


async def sync(info: dict[str, Any], change: Any) -> dict[str, Any]:
    """The engine on SQLite: full, then incremental after the change (devices stream empty)."""
    from pip_service.connections.service import create_connection
    from pip_service.db.migrate import upgrade
    from pip_service.db.session import create_engine, session_factory
    from pip_service.secrets.crypto import KeyRing, generate_key
    from pip_service.sync.engine import run_sync
    from pip_service.sync.locks import FileLocks

    keyring = KeyRing.parse(f"bench:{generate_key()}")
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'pip.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessions, locks = session_factory(engine), FileLocks(Path(tmp) / "locks")
        async with sessions.begin() as session:
            conn = await create_connection(
                session, name="bench-entra", connector_type="entra_id",
                config=config(info), actor="bench", keyring=keyring,
            )  # fmt: skip
        args = {"sessions": sessions, "connection_id": conn.id, "keyring": keyring, "locks": locks}
        for mode in ("full", "incremental"):
            if mode == "incremental":
                change()
            began = time.perf_counter()
            result = await run_sync(mode=mode, **args)  # type: ignore[arg-type]
            if result.status != "success":
                raise SystemExit(f"{mode} sync failed: {result.error}")
            figures[f"{mode}_seconds"] = round(time.perf_counter() - began, 2)
            figures[f"{mode}_fetched"] = result.fetched
        await engine.dispose()
    return figures | {"rss_mb": peak_rss_mb()}


def measure(kind: str, users: int, groups: int) -> dict[str, Any]:
    """Start the fake, run ``kind`` in this process against it, stop the fake."""
    fake = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--users", str(users), "--groups", str(groups)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    assert fake.stdin is not None and fake.stdout is not None
    info = json.loads(fake.stdout.readline())
    lock = threading.Lock()

    def change() -> None:
        with lock:
            fake.stdin.write("change\n")  # type: ignore[union-attr]
            fake.stdin.flush()  # type: ignore[union-attr]
            fake.stdout.readline()  # type: ignore[union-attr]

    try:
        runner = read if kind == "read" else sync
        return asyncio.run(runner(info, change))
    finally:
        fake.stdin.close()
        fake.wait(timeout=30)


def main() -> None:
    """Parse arguments; run each part in a fresh subprocess and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--groups", type=int, default=5_000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--part", choices=("read", "sync"), help=argparse.SUPPRESS)
    parser.add_argument("--no-engine", action="store_true", help="skip the SQLite sync part")
    args = parser.parse_args()
    if args.serve:
        serve(args.users, args.groups)
    elif args.part:
        print(json.dumps(measure(args.part, args.users, args.groups)))
    else:
        parts = ("read",) if args.no_engine else ("read", "sync")
        for part in parts:
            out = subprocess.run(
                [sys.executable, __file__, "--part", part, "--users", str(args.users),
                 "--groups", str(args.groups)],
                capture_output=True, text=True, check=True, cwd=ROOT,
            ).stdout  # fmt: skip
            report(part, json.loads(out.strip().splitlines()[-1]))


def report(part: str, figures: dict[str, Any]) -> None:
    """Print the figures of one part against the floors."""
    print(f"[{part}]")
    for name, value in figures.items():
        floor = FLOORS.get(name)
        verdict = "" if floor is None else ("  ok" if value <= floor else f"  OVER floor {floor}")
        print(f"  {name:>22}: {value}{verdict}")


if __name__ == "__main__":
    main()
