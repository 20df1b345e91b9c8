"""Benchmark: building ``assets/devices`` (and its index) from records, on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/document_build.py [--backend sqlite|postgres|both]

Scenarios (records inserted directly, as the sync engine stores them):
- ``single``: 50,000 CMDB devices → one document.
- ``merge``: 40,000 Intune + 8,000 Jamf + 50,000 ABM + 50,000 CMDB devices, merged by serial.

Every measurement runs in a fresh child process, so its peak RSS is its own.
Figures: seconds and peak RSS of the first build, of a rebuild whose inputs did
not change (hash only) and of the baseline measured in the same run: reading
the same rows and parsing their JSON, nothing else (the floor of any builder).
Floors (issue 9): document build <= 10 s and <= 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Text, cast, create_engine, insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import create_pg_database  # noqa: E402

from connectors.base.canonical import CanonicalDevice  # noqa: E402
from connectors.base.connector import Connector  # noqa: E402
from connectors.base.types import Category  # noqa: E402
from pip_service.cache.memory import MemoryCache  # noqa: E402
from pip_service.config import Settings  # noqa: E402
from pip_service.connections.models import Connection  # noqa: E402
from pip_service.db.migrate import upgrade  # noqa: E402
from pip_service.db.session import create_engine as create_async  # noqa: E402
from pip_service.db.session import session_factory  # noqa: E402
from pip_service.documents.service import DocumentService  # noqa: E402
from pip_service.records.models import Record  # noqa: E402

PG_ADMIN = os.environ.get("PIP_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
T0 = datetime(2026, 3, 1, tzinfo=UTC)
SCENARIOS = {
    "single": [("CMDB", "servicenow", 50_000)],
    "merge": [
        ("Intune", "intune", 40_000),
        ("Jamf", "jamf", 8_000),
        ("ABM", "abm", 50_000),
        ("CMDB", "servicenow", 50_000),
    ],
}
CATEGORIES = {"servicenow": Category.CMDB, "intune": Category.MDM, "jamf": Category.MDM}
CATEGORIES["abm"] = Category.MDM


class _Config(BaseModel):
    pass


def lookup(slug: str) -> type[Connector[Any]] | None:
    """Connector classes with the right categories (no streams: canonical sensitivities)."""
    attrs = {"slug": slug, "title": slug, "category": CATEGORIES[slug], "config_model": _Config}
    return type(slug, (Connector,), {**attrs, "streams": ()})


def device(slug: str, i: int) -> dict[str, Any]:
    """A realistic device record of one source; serial ranges overlap across sources."""
    common: dict[str, Any] = {"source_id": f"{slug}-{i}"}
    if slug == "servicenow":
        return {
            **common,
            "serial_number": f"SN{i:06d}",
            "asset_tag": f"A{i:06d}",
            "hostname": f"host-{i}",
            "device_type": "laptop",
            "manufacturer": "Dell",
            "model": "Latitude 7440",
            "location": "Berlin",
            "department": "Finance",
            "owner": f"user{i % 9000}@example.com",
            "status": "active",
            "install_status": "installed",
            "cmdb_class": "cmdb_ci_computer",
            "ring": ("lab", "canary", "pilot", "department", "global")[i % 5],
            "compliance_score": 70 + i % 31,
            "last_seen": T0 - timedelta(hours=i % 200),
        }
    if slug == "intune":
        return {
            **common,
            "serial_number": f"SN{i:06d}",
            "hostname": f"HOST-{i}",
            "os": "Windows",
            "os_version": f"10.0.22631.{i % 400}",
            "compliance_state": "compliant" if i % 17 else "noncompliant",
            "compliance_reasons": [] if i % 17 else ["BitLocker off"],
            "management_state": "managed",
            "enrollment_state": "enrolled",
            "encrypted": bool(i % 17),
            "ownership": "corporate",
            "enrolled_at": T0 - timedelta(days=300),
            "last_seen": T0 - timedelta(hours=i % 50),
        }
    if slug == "jamf":
        n = 42_000 + i
        return {
            **common,
            "serial_number": f"SN{n:06d}",
            "os": "macOS",
            "os_version": "14.4",
            "compliance_state": "compliant",
            "management_state": "managed",
            "last_seen": T0 - timedelta(hours=i % 30),
            "extra": {"jamf_id": i},
        }
    n = 30_000 + i
    return {
        **common,
        "serial_number": f"SN{n:06d}",
        "model": "MacBook Pro",
        "mdm_server": "Jamf Prod" if i % 3 else "Intune",
        "status": "active",
    }


def rows(connection_id: int, slug: str, count: int) -> list[dict[str, Any]]:
    """Record rows as the sync engine writes them."""
    out = []
    for i in range(count):
        model = CanonicalDevice(**device(slug, i))
        data = model.model_dump(mode="json", exclude_none=True)
        data.pop("source_id")
        digest = hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
        out.append(
            {
                "connection_id": connection_id,
                "stream": "devices",
                "entity": "device",
                "external_id": model.source_id,
                "entity_key": model.key,
                "data": data,
                "content_hash": digest,
                "updated_at": T0,
                "first_seen_at": T0,
                "last_seen_at": T0,
                "is_demo": False,
            }
        )
    return out


def seed(url: str, scenario: str) -> int:
    """Insert the scenario's connections and records; returns the record count."""
    upgrade(url)
    engine = create_engine(url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg"))
    total = 0
    with engine.begin() as conn:
        for name, slug, count in SCENARIOS[scenario]:
            conn_id = conn.execute(
                insert(Connection)
                .values(name=name, connector_type=slug, config={}, last_success_at=T0)
                .returning(Connection.id)
            ).scalar_one()
            batch = rows(conn_id, slug, count)
            for start in range(0, len(batch), 5000):
                conn.execute(insert(Record), batch[start : start + 5000])
            total += count
    engine.dispose()
    return total


async def measure(url: str, what: str) -> dict[str, Any]:
    """One measurement inside this (child) process."""
    engine = create_async(url)
    sessions = session_factory(engine)
    figures: dict[str, Any] = {}
    began = time.perf_counter()
    if what == "baseline":
        figures["rows"] = await _read_only(sessions)
        figures["seconds"] = round(time.perf_counter() - began, 2)
    else:
        settings = Settings(_env_file=None, redis_url=None)
        service = DocumentService(sessions, MemoryCache(), settings, connector_lookup=lookup)
        result, _index = await service.rebuild(["device"])
        figures["seconds"] = round(time.perf_counter() - began, 2)
        figures.update(entities=result.entity_count, size_mb=round(result.size / 2**20, 1))
        served = await service.get("assets/devices")
        figures["gzip_mb"] = round(len(served.body_gz) / 2**20, 2)
        again = time.perf_counter()
        skip, _index = await service.rebuild(["device"])
        figures.update(
            skipped=skip.skipped, unchanged_seconds=round(time.perf_counter() - again, 2)
        )
    figures["peak_rss_mb"] = peak_rss_mb()
    await engine.dispose()
    return figures


async def _read_only(sessions: Any) -> int:
    count = 0
    async with sessions() as session:
        stmt = (
            select(Record.entity_key, cast(Record.data, Text), Record.updated_at)
            .where(Record.entity == "device", Record.deleted_at.is_(None))
            .order_by(Record.entity_key)
            .execution_options(yield_per=5000)
        )
        result = await session.stream(stmt)
        async for partition in result.partitions():
            for row in partition:
                orjson.loads(row[1])
                count += 1
    return count


def peak_rss_mb() -> int:
    """This process's peak resident set (VmHWM; unlike ru_maxrss it is not inherited by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def child(url: str, what: str, scenario: str = "") -> dict[str, Any]:
    """Run one step in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, "--url", url, "--scenario", scenario],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def databases(backend: str) -> list[tuple[str, str, Any]]:
    """(backend, url, cleanup) for each scenario database."""
    made: list[tuple[str, str, Any]] = []
    for scenario in SCENARIOS:
        if backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="pip-bench-")
            made.append((scenario, f"sqlite+aiosqlite:///{folder}/bench.db", None))
        else:
            made.append((scenario, *create_pg_database(PG_ADMIN)))
    return made


def drop(cleanup: Any) -> None:
    if cleanup is not None:
        cleanup()


def run(backend: str) -> None:
    """Seed, measure and print one backend's figures."""
    for scenario, url, cleanup in databases(backend):
        try:
            records = child(url, "seed", scenario)["records"]
            idle = child(url, "idle")
            base = child(url, "baseline")
            build = child(url, "build")
        finally:
            drop(cleanup)
        ratio = build["seconds"] / base["seconds"] if base["seconds"] else float("nan")
        print(
            f"{backend:8} {scenario:6} records={records:>7} devices={build['entities']:>6} "
            f"body={build['size_mb']} MB gzip={build['gzip_mb']} MB"
        )
        print(
            f"{'':15} build {build['seconds']:>5.2f} s  peak RSS {build['peak_rss_mb']} MB"
            f" | baseline read+parse {base['seconds']:.2f} s, {base['peak_rss_mb']} MB"
            f" | build/baseline {ratio:.1f}x | idle process {idle['peak_rss_mb']} MB"
        )
        print(
            f"{'':15} unchanged inputs (hash only, skipped={build['skipped']}): "
            f"{build['unchanged_seconds']:.2f} s | floors: <= 10 s, <= 1024 MB -> "
            f"{'OK' if build['seconds'] <= 10 and build['peak_rss_mb'] <= 1024 else 'FAIL'}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--scenario", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child == "idle":
            figures = {"peak_rss_mb": peak_rss_mb()}
        elif args.child == "seed":
            figures = {"records": seed(args.url, args.scenario)}
        else:
            figures = asyncio.run(measure(args.url, args.child))
        print(json.dumps(figures))
        return
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        run(backend)


if __name__ == "__main__":
    main()
