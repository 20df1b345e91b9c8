"""Benchmark: read 20,000 users (+ groups, computers) from a real slapd.

    .venv/bin/python benchmarks/ldap_sync.py [--users 20000] [--groups 1000] [--computers 2000]

Setup (not measured against the floor): start slapd, load the entries over LDAP
with ``ldapmodify -a`` (so the memberof overlay runs). Then, each in a fresh
subprocess so its peak RSS is its own:

- ``read``: a full run of the connector's three streams (index + paged searches
  + mapping), no database;
- ``sync``: the sync engine's full run into a fresh SQLite file, then 1 % of the
  users changed and an incremental run.

Floors (issue 4): slapd full read <= 30 s, peak RSS <= 1 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import peak_rss_mb  # noqa: E402

from connectors.base.stream import SyncContext  # noqa: E402
from connectors.ldap import LdapConfig, LdapConnector  # noqa: E402
from tests.rigs.slapd import remove_slapd, start_slapd  # noqa: E402

FLOOR_SECONDS = 30.0
FLOOR_RSS_MB = 1024.0
PEOPLE = "ou=People,dc=example,dc=com"
GROUPS = "ou=Groups,dc=example,dc=com"
COMPUTERS = "ou=Computers,dc=example,dc=com"


def ldif(users: int, groups: int, computers: int) -> str:
    """Entries as LDIF: users with a manager, groups of 20 (10 % nested), computers."""
    out = [_ou(dn) for dn in (PEOPLE, GROUPS, COMPUTERS)]
    out += [_user(n) for n in range(users)]
    out += [_group(g, users, groups) for g in range(groups - 1, -1, -1)]
    out += [_computer(c) for c in range(computers)]
    return "\n".join(out)


def _ou(dn: str) -> str:
    return f"dn: {dn}\nobjectClass: organizationalUnit\n"


def _ids() -> str:
    return f"objectGUID:: {base64.b64encode(uuid.uuid4().bytes_le).decode()}\n"


def _user(n: int) -> str:
    manager = f"manager: cn=u{n // 10:06d},{PEOPLE}\n" if n >= 10 else ""
    return (
        f"dn: cn=u{n:06d},{PEOPLE}\nobjectClass: user\ncn: u{n:06d}\nsn: S{n}\n"
        f"givenName: G{n}\ndisplayName: G{n} S{n}\nsAMAccountName: u{n:06d}\n"
        f"userPrincipalName: u{n:06d}@corp.example.com\nmail: u{n:06d}@example.com\n"
        f"department: D{n % 40}\ntitle: T{n % 90}\n"
        f"userAccountControl: {514 if n % 50 == 0 else 512}\n"
        f"lastLogonTimestamp: 134080000000000000\n{manager}{_ids()}"
    )


def _group(g: int, users: int, groups: int) -> str:
    members = [f"member: cn=u{(g * 20 + i) % users:06d},{PEOPLE}" for i in range(20)]
    if g * 10 + 1 < groups and g % 10 == 0:
        members.append(f"member: cn=g{g * 10 + 1:05d},{GROUPS}")
    body = "\n".join(members)
    return f"dn: cn=g{g:05d},{GROUPS}\nobjectClass: group\ncn: g{g:05d}\n{body}\n{_ids()}"


def _computer(c: int) -> str:
    return (
        f"dn: cn=PC{c:05d},{COMPUTERS}\nobjectClass: computer\ncn: PC{c:05d}\n"
        f"dNSHostName: pc{c:05d}.corp.example.com\noperatingSystem: Windows 11 Enterprise\n"
        f"lastLogonTimestamp: 134080000000000000\n{_ids()}"
    )


def config(info: dict[str, Any]) -> LdapConfig:
    """The connector config for the benchmark's slapd."""
    return LdapConfig(
        url=info["url"],
        bind_dn=info["bind_dn"],
        bind_password=info["password"],
        base_dn="dc=example,dc=com",
        users_base=PEOPLE,
        groups_base=GROUPS,
        computers_base=COMPUTERS,
        page_size=500,
        cursor_overlap_seconds=0,  # the loader's clock is the server's
    )


async def read(info: dict[str, Any]) -> dict[str, Any]:
    """A full run of every stream through the connector, no database."""
    connector = LdapConnector(config(info))
    context = SyncContext(started_at=datetime.now(UTC))
    began, counts = time.perf_counter(), {}
    for stream in connector.get_streams():
        counts[stream.name] = 0
        async for page in stream.pages(context):
            counts[stream.name] += len(page.records)
    seconds = time.perf_counter() - began
    await connector.aclose()
    return {"seconds": seconds, "records": counts, "rss_mb": peak_rss_mb()}


async def sync(info: dict[str, Any]) -> dict[str, Any]:
    """The engine's full run into SQLite, then an incremental run after 1 % changes."""
    from pip_service.connections.service import create_connection
    from pip_service.db.migrate import upgrade
    from pip_service.db.session import create_engine, session_factory
    from pip_service.secrets.crypto import KeyRing, generate_key
    from pip_service.sync.engine import run_sync
    from pip_service.sync.locks import FileLocks

    keyring = KeyRing.parse(f"bench:{generate_key()}")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'pip.db'}"
        await asyncio.to_thread(upgrade, url)
        engine = create_engine(url)
        sessions, locks = session_factory(engine), FileLocks(Path(tmp) / "locks")
        raw = config(info).model_dump(mode="json") | {"bind_password": info["password"]}
        async with sessions.begin() as session:
            conn = await create_connection(
                session,
                name="bench-ldap",
                connector_type="ldap",
                config=raw,
                actor="bench",
                keyring=keyring,
            )
        args: dict[str, Any] = {
            "sessions": sessions,
            "connection_id": conn.id,
            "keyring": keyring,
            "locks": locks,
        }
        figures = await _timed(run_sync(mode="full", **args), "full")
        _change_users(info, count=info["users"] // 100)
        figures |= await _timed(run_sync(mode="incremental", **args), "incremental")
        await engine.dispose()
    return figures | {"rss_mb": peak_rss_mb()}


async def _timed(run: Any, label: str) -> dict[str, Any]:
    began = time.perf_counter()
    result = await run
    if result.status != "success":
        raise SystemExit(f"{label} sync failed: {result.error}")
    return {
        f"{label}_seconds": time.perf_counter() - began,
        f"{label}_fetched": result.fetched,
        f"{label}_created": result.created,
        f"{label}_updated": result.updated,
    }


def _change_users(info: dict[str, Any], count: int) -> None:
    changes = "".join(
        f"dn: cn=u{n * 97 % info['users']:06d},{PEOPLE}\nchangetype: modify\n"
        f"replace: title\ntitle: Changed {n}\n\n"
        for n in range(count)
    )
    _ldapmodify(info, changes, add=False)


def _ldapmodify(info: dict[str, Any], text: str, *, add: bool) -> None:
    command = [
        "ldapmodify",
        "-x",
        "-H",
        info["url"],
        "-D",
        info["admin_dn"],
        "-w",
        info["admin_pw"],
    ]
    subprocess.run(
        [*command, *(["-a"] if add else [])],
        input=text.encode(),
        check=True,
        stdout=subprocess.DEVNULL,
    )


def measure(kind: str, info: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its JSON result."""
    done = subprocess.run(
        [sys.executable, __file__, "--worker", kind],
        input=json.dumps(info).encode(),
        capture_output=True,
        check=True,
    )
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


def main() -> None:
    """Start slapd, load the entries, measure, print the figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--groups", type=int, default=1_000)
    parser.add_argument("--computers", type=int, default=2_000)
    parser.add_argument("--worker", choices=["read", "sync"])
    args = parser.parse_args()
    if args.worker:
        info = json.loads(sys.stdin.read())
        job = read if args.worker == "read" else sync
        print(json.dumps(asyncio.run(job(info))))
        return
    server = start_slapd()
    try:
        info = {
            "url": server.url,
            "bind_dn": server.service_dn,
            "password": server.service_password,
            "admin_dn": server.admin_dn,
            "admin_pw": server.admin_password,
            "users": args.users,
        }
        began = time.perf_counter()
        _ldapmodify(info, ldif(args.users, args.groups, args.computers), add=True)
        time.sleep(1.0 - time.time() % 1.0 + 0.01)  # the load's second is behind every cursor
        print(
            f"setup: loaded {args.users} users, {args.groups} groups, {args.computers} computers"
            f" over LDAP in {time.perf_counter() - began:.1f} s (not measured)"
        )
        report("read", measure("read", info))
        report("sync", measure("sync", info))
    finally:
        remove_slapd(server)


def report(kind: str, figures: dict[str, Any]) -> None:
    """Print one measurement and whether it meets the floor."""
    if kind == "read":
        ok = figures["seconds"] <= FLOOR_SECONDS and figures["rss_mb"] <= FLOOR_RSS_MB
        print(
            f"read (connector, 3 streams): {figures['seconds']:.2f} s, "
            f"records {figures['records']},"
            f" peak RSS {figures['rss_mb']} MB -> floor {FLOOR_SECONDS:.0f} s / 1 GB: "
            f"{'OK' if ok else 'MISSED'}"
        )
        return
    print(
        f"sync full into SQLite: {figures['full_seconds']:.2f} s, "
        f"fetched {figures['full_fetched']},"
        f" created {figures['full_created']}"
    )
    print(
        f"sync incremental (1 % users changed): {figures['incremental_seconds']:.2f} s, fetched "
        f"{figures['incremental_fetched']}, updated {figures['incremental_updated']}; "
        f"peak RSS {figures['rss_mb']} MB"
    )


if __name__ == "__main__":
    main()
