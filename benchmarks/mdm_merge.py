"""Benchmark: MDM devices merged with the CMDB into ``assets/devices``.

    .venv/bin/python benchmarks/mdm_merge.py [--cmdb 50000] [--intune 40000] [--jamf 8000]
                                             [--abm 50000]

The ServiceNow, Intune (Microsoft Graph), Jamf Pro and Apple Business Manager
fakes (tests/fakes/) are served by uvicorn in a process of their own, as real
sources are remote. Jamf computers carry CMDB serial numbers; Intune holds 90%
CMDB serials (after Jamf's) and the rest Intune-only; ABM holds 84% CMDB
serials and the rest ABM-only. Then, each in a fresh subprocess so its peak RSS
is its own, on a migrated SQLite file (the embedded default):

- ``syncs``: a full engine run of each connection (seconds and peak RSS each);
- ``build``: ``DocumentService.rebuild(["device"])``, the merge into
  ``assets/devices`` (seconds, peak RSS, device count, body size).

Floors (issue 9): document build <= 10 s and <= 1 GB. Exit status 1 when a
floor is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import PeakRss, served_in_process  # noqa: E402

FLOOR_SECONDS, FLOOR_RSS_MB = 10.0, 1024.0


def _serve(counts: dict[str, int], conn: Any) -> None:
    from tests.fakes.abm import AbmFake
    from tests.fakes.graph_intune import IntuneFake
    from tests.fakes.jamf import JamfFake
    from tests.fakes.server import FakeServer
    from tests.fakes.servicenow import ServiceNowFake

    cmdb = ServiceNowFake(counts["cmdb"])
    serials = [r["serial_number"] for r in cmdb.rows() if r["serial_number"]]
    jamf, abm = JamfFake(), AbmFake()
    jamf.reset(counts["jamf"], serials=serials[: counts["jamf"]])
    shared = int(counts["abm"] * 0.84)
    own = [f"ABMONLY{i:07d}" for i in range(counts["abm"] - shared)]
    abm.reset(counts["abm"], serials=serials[:shared] + own, servers=3)
    intune = IntuneFake()
    start, managed = counts["jamf"], int(counts["intune"] * 0.9)
    intune.reset(counts["intune"], serials=serials[start : start + managed])
    apps = (cmdb.app, jamf.app, abm.app, intune.app)
    servers = [FakeServer(app).start() for app in apps]
    intune.base_url = servers[3].url
    conn.send(_configs(cmdb, jamf, abm, intune, [s.url for s in servers]))
    conn.recv()
    for server in servers:
        server.stop()


def _configs(cmdb: Any, jamf: Any, abm: Any, intune: Any, urls: list[str]) -> dict[str, Any]:
    return {
        "servicenow": {
            "instance_url": urls[0],
            "username": cmdb.username,
            "password": cmdb.password,
            "read_relationships": False,
            "read_changes": False,
            "page_size": 1000,
        },
        "jamf_pro": {
            "server_url": urls[1],
            "client_id": jamf.client_id,
            "client_secret": jamf.client_secret,
            "read_mobile_devices": False,
            "page_size": 2000,
            "compliance": {"source": "smart_group", "compliant_group": "Compliant Macs"},
        },
        "apple_business_manager": {
            "client_id": abm.client_id,
            "key_id": abm.key_id,
            "private_key": abm.private_pem,
            "api_url": urls[2],
            "token_url": f"{urls[2]}/auth/oauth2/token",
            "page_size": 1000,
        },
        "intune": {
            "tenant_id": intune.tenant_id,
            "client_id": intune.client_id,
            "client_secret": intune.identity.client_secret,
            "authority_url": urls[3],
            "graph_url": urls[3],
            "page_size": 999,
        },
    }


async def _syncs(db_path: str, configs: dict[str, Any]) -> list[dict[str, Any]]:
    from pip_service.connections.service import create_connection
    from pip_service.db.session import create_engine, session_factory
    from pip_service.secrets.crypto import KeyRing, generate_key
    from pip_service.sync.engine import run_sync
    from pip_service.sync.locks import FileLocks

    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    sessions, keyring = session_factory(engine), KeyRing.parse(f"b1:{generate_key()}")
    locks = FileLocks(Path(db_path).parent / "locks")
    results = []
    for slug, config in configs.items():
        async with sessions.begin() as session:
            connection = await create_connection(
                session,
                name=slug,
                connector_type=slug,
                config=config,
                actor="bench",
                keyring=keyring,
            )
        began = time.perf_counter()
        with PeakRss() as rss:
            result = await run_sync(
                sessions=sessions,
                connection_id=connection.id,
                mode="full",
                keyring=keyring,
                locks=locks,
            )
        seconds = round(time.perf_counter() - began, 2)
        results.append(
            {
                "sync": slug,
                "status": result.status,
                "records": result.created,
                "seconds": seconds,
                "peak_rss_mb": rss.mb,
                "error": result.error,
            }
        )
    await locks.aclose()
    await engine.dispose()
    return results


async def _build(db_path: str) -> dict[str, Any]:
    from pip_service.cache.memory import MemoryCache
    from pip_service.config import Settings
    from pip_service.db.session import create_engine, session_factory
    from pip_service.documents.service import DocumentService

    engine = create_engine(f"sqlite+aiosqlite:///{db_path}")
    settings = Settings(
        _env_file=None,
        redis_url=None,
        source_precedence="jamf_pro,intune,servicenow,apple_business_manager",
    )
    service = DocumentService(session_factory(engine), MemoryCache(), settings)
    began = time.perf_counter()
    with PeakRss() as rss:
        await service.rebuild(["device"])
    seconds = round(time.perf_counter() - began, 2)
    served = await service.get("assets/devices")
    devices = served.data()
    await engine.dispose()
    managed = sum(1 for d in devices.values() if d["managed_by"])
    unenrolled = sum(1 for d in devices.values() if d.get("abm_unenrolled"))
    return {
        "build": "assets/devices",
        "seconds": seconds,
        "peak_rss_mb": rss.mb,
        "devices": len(devices),
        "managed": managed,
        "abm_unenrolled": unenrolled,
        "body_mb": round(len(served.body()) / 2**20, 1),
    }


def _child(stage: str, db_path: str, payload: str) -> Any:
    out = subprocess.run(
        [sys.executable, __file__, "--stage", stage, "--db", db_path, "--payload", payload],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmdb", type=int, default=50_000)
    parser.add_argument("--intune", type=int, default=40_000)
    parser.add_argument("--jamf", type=int, default=8_000)
    parser.add_argument("--abm", type=int, default=50_000)
    parser.add_argument("--stage", choices=["syncs", "build"])
    parser.add_argument("--db")
    parser.add_argument("--payload", default="{}")
    args = parser.parse_args()
    if args.stage == "syncs":
        print(json.dumps(asyncio.run(_syncs(args.db, json.loads(args.payload)))))
        return 0
    if args.stage == "build":
        print(json.dumps(asyncio.run(_build(args.db))))
        return 0
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    from pip_service.db.migrate import upgrade

    counts = {"cmdb": args.cmdb, "intune": args.intune, "jamf": args.jamf, "abm": args.abm}
    with served_in_process(_serve, counts) as fake:
        configs = fake.recv()
        with tempfile.TemporaryDirectory() as tmp:
            db_path = str(Path(tmp) / "bench.db")
            upgrade(f"sqlite+aiosqlite:///{db_path}")
            syncs = _child("syncs", db_path, json.dumps(configs))
            build = _child("build", db_path, "{}")
    print(f"MDM merge benchmark {counts}")
    for row in syncs:
        print(_sync_line(row))
    print(_build_line(build))
    ok = build["seconds"] <= FLOOR_SECONDS and build["peak_rss_mb"] <= FLOOR_RSS_MB
    verdict = "met" if ok else "MISSED"
    print(f"  floors: build <= {FLOOR_SECONDS:.0f} s and <= {FLOOR_RSS_MB:.0f} MB: {verdict}")
    return 0 if ok else 1


def _sync_line(row: dict[str, Any]) -> str:
    head = f"  sync  {row['sync']:<24} {row['status']:<8} {row['records']:>7} records"
    return f"{head}  {row['seconds']:>7.2f} s  peak RSS {row['peak_rss_mb']:>7.1f} MB"


def _build_line(build: dict[str, Any]) -> str:
    what = f"{build['devices']} devices ({build['managed']} managed, "
    what += f"{build['abm_unenrolled']} ABM-unenrolled, body {build['body_mb']} MB)"
    cost = f"{build['seconds']:.2f} s  peak RSS {build['peak_rss_mb']} MB"
    return f"  build assets/devices: {what}  {cost}"


if __name__ == "__main__":
    sys.exit(main())
