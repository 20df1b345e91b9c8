"""Benchmark: webhook received → fact visible in the OPA stand-in, through real OPAL.

    .venv/bin/python benchmarks/webhook_to_opa.py [--events 200] [--refetch-events 20]
                                                  [--users 10000] [--devices 50000]
                                                  [--load-timeout 300] [--workdir DIR]

Seeds the demo dataset (``--users`` users, ``--devices`` devices) plus an Okta
connection on the Okta fake (50 users), starts the PIP (uvicorn), an OPAL
server and client (0.9.9, Redis broadcast) and the OPA stand-in, waits for the
initial load, then sends signed Okta event hooks that flip one user's
``enabled`` and times each until the OPA stand-in holds the new value:

- ``patch``: the default path (an inline JSON Patch of the changed user);
- ``refetch``: the same path with ``PIP_OPAL_PATCH_MAX_BYTES=0`` (every client
  refetches the whole users document).

Prints p50/p95/p99 (ms), the DataUpdate bytes the PIP posted per event and the
bytes each client downloads per event, and checks the floor p95 <= 500 ms (patch).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import orjson
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from opal.datasources import data_sources_url, topics_for  # noqa: E402
from pip_service.demo.service import seed_demo  # noqa: E402
from pip_service.documents.catalog import document_names  # noqa: E402
from pip_service.runtime import Runtime  # noqa: E402
from pip_service.secrets.crypto import generate_key  # noqa: E402
from tests.fakes.okta import OktaFake  # noqa: E402
from tests.fakes.server import FakeServer  # noqa: E402
from tests.opal.conftest import make_settings  # noqa: E402
from tests.rigs.opa_server import OpaStandIn, run_opa_stand_in  # noqa: E402
from tests.rigs.opal import free_port, run_opal_client, run_opal_server  # noqa: E402
from tests.rigs.pip_app import run_pip_app  # noqa: E402
from tests.webhooks.conftest import HOOK_SECRET, add_okta  # noqa: E402
from tests.webhooks.okta_events import delivery, okta_event, user_target  # noqa: E402

READ_TOKEN = "pip_bench-read-token-00000000000000000001"
OKTA_USERS = 50
FLOOR_P95_MS = 500.0


async def seed(database_url: str, tmp: Path, key: str, okta: OktaFake, args: Any) -> int:
    """Demo data and the Okta connection, synced; returns the Okta connection id."""
    runtime = Runtime(make_settings(database_url, tmp, encryption_keys=SecretStr(key)))
    await runtime.start()
    try:
        overrides = {"users": args.users, "devices": args.devices, "audit_events": 0}
        result = await seed_demo(
            sessions=runtime.sessions, keyring=runtime.keyring, locks=runtime.locks,
            overrides=overrides, on_committed=runtime.on_committed,
        )  # fmt: skip
        assert result.ok, result.sync
        return await add_okta(runtime, okta)
    finally:
        await runtime.stop()


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def flip(okta: OktaFake, n: int) -> tuple[str, str, bool, dict[str, Any]]:
    """Flip user ``n``'s status at the fake; the delivery that tells the PIP."""
    uid, email = f"00u{n % OKTA_USERS:017d}", f"user{n % OKTA_USERS:05d}@example.com"
    enabled = okta.data.users[uid]["status"] != "ACTIVE"
    okta.touch_user(uid, status="ACTIVE" if enabled else "SUSPENDED")
    kind = "user.lifecycle.unsuspend" if enabled else "user.lifecycle.suspend"
    return uid, email, enabled, delivery(okta_event(kind, [user_target(uid)]))


def measure(
    pip: str, opa: OpaStandIn, okta: OktaFake, connection_id: int, events: int
) -> list[float]:
    """Milliseconds from POST to the new value in the stand-in, per event."""
    latencies = []
    with httpx.Client(timeout=30) as http:
        for n in range(events):
            _uid, email, enabled, body = flip(okta, n)
            path = ["pip", "identity", "users", email]
            began = time.perf_counter()
            answer = http.post(
                f"{pip}/webhooks/{connection_id}", content=orjson.dumps(body),
                headers={"Authorization": HOOK_SECRET, "Content-Type": "application/json"},
            )  # fmt: skip
            assert answer.status_code == 200, answer.text
            seen = opa.store.wait_for(_holds(path, enabled), 30)
            assert seen, f"event {n} never reached OPA"
            latencies.append((time.perf_counter() - began) * 1000)
    return latencies


def _holds(path: list[str], enabled: bool) -> Any:
    return lambda store: (store.get_data(path) or {}).get("enabled") is enabled


def published_bytes(database: Path, since: str) -> list[int]:
    """Sizes of the DataUpdates posted to OPAL for the users document since ``since``."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT size FROM opal_publications WHERE document = 'identity/users' "
            "AND published_at > ? ORDER BY published_at",
            (since,),
        ).fetchall()
    return [size for (size,) in rows]


def users_gz_size(pip: str) -> int:
    """Bytes of the gzip users document a client downloads on a refetch."""
    headers = {"Authorization": f"Bearer {READ_TOKEN}", "Accept-Encoding": "gzip"}
    with httpx.stream("GET", f"{pip}/opal/pip-data/identity/users", headers=headers) as response:
        return sum(len(chunk) for chunk in response.iter_raw())


def report(label: str, latencies: list[float], posted: list[int], client_bytes: float) -> float:
    """Print one line of figures; returns p95."""
    p95 = percentile(latencies, 0.95)
    print(
        f"{label:8s} events={len(latencies):4d} p50={statistics.median(latencies):7.1f} ms "
        f"p95={p95:7.1f} ms p99={percentile(latencies, 0.99):7.1f} ms "
        f"DataUpdate={statistics.mean(posted or [0]):8.0f} B/event "
        f"client download={client_bytes:9.0f} B/event"
    )
    return p95


def run_phase(
    label: str, stack: ExitStack, ctx: dict[str, Any], events: int, extra: dict[str, str]
) -> float:
    """Start a PIP (with ``extra`` settings), measure ``events`` events, stop it."""
    with ExitStack() as phase:
        pip = phase.enter_context(run_pip_app(ctx["tmp"] / f"pip-{label}", {**ctx["env"], **extra},
                                              port=ctx["port"]))  # fmt: skip
        time.sleep(0.5)
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        latencies = measure(pip, ctx["opa"], ctx["okta"], ctx["connection_id"], events)
        posted = published_bytes(ctx["database"], since)
        download = float(users_gz_size(pip)) if label == "refetch" else 0.0
        return report(label, latencies, posted, download)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--refetch-events", type=int, default=20)
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--devices", type=int, default=50000)
    parser.add_argument("--load-timeout", type=float, default=300.0, help="initial load, seconds")
    parser.add_argument("--workdir", type=Path, help="keep the logs and database here")
    args = parser.parse_args()
    with ExitStack() as stack:
        tmp = args.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        tmp.mkdir(parents=True, exist_ok=True)
        okta = OktaFake()
        okta_server = stack.enter_context(FakeServer(okta.app))
        okta.base_url = okta_server.url
        okta.reset(users=OKTA_USERS, groups=2)
        key, database = f"bench:{generate_key()}", tmp / "pip.db"
        url = f"sqlite+aiosqlite:///{database}"
        began = time.perf_counter()
        connection_id = asyncio.run(seed(url, tmp, key, okta, args))
        seconds = time.perf_counter() - began
        print(f"seeded {args.users} users, {args.devices} devices in {seconds:.1f} s")
        port = free_port()
        public = f"http://127.0.0.1:{port}"
        sources = {"external_source_url": data_sources_url(public)}
        server = stack.enter_context(
            run_opal_server(tmp / "opal-server", data_config_sources=sources)
        )
        client_jwt = server.token("client")
        env = {
            "PIP_DATABASE_URL": url, "PIP_PUBLIC_URL": public, "PIP_ENCRYPTION_KEYS": key,
            "PIP_OPAL_TOKENS": f"{READ_TOKEN},{client_jwt}", "PIP_SCHEDULER_ENABLED": "false",
            "PIP_LOG_JSON": "false", "PIP_LOG_LEVEL": "WARNING", "PIP_OPAL_SERVER_URL": server.url,
            "PIP_OPAL_MASTER_TOKEN": server.keys.master_token,
        }  # fmt: skip
        with run_pip_app(tmp / "pip-load", env, port=port):
            opa = stack.enter_context(run_opa_stand_in())
            stack.enter_context(run_opal_client(
                tmp / "opal-client", server=server, policy_store_url=opa.url,
                topics=topics_for(document_names()), token=client_jwt,
            ))  # fmt: skip
            began = time.perf_counter()
            loaded = opa.store.wait_for(
                lambda s: all(
                    s.get_data(["pip", *n.split("/")]) is not None for n in document_names()
                ),
                args.load_timeout,
            )
            assert loaded, "initial load did not finish"
            print(f"initial load through OPAL: {time.perf_counter() - began:.1f} s")
        ctx = {"tmp": tmp, "env": env, "port": port, "opa": opa, "okta": okta,
               "connection_id": connection_id, "database": database}  # fmt: skip
        p95 = run_phase("patch", stack, ctx, args.events, {})
        run_phase("refetch", stack, ctx, args.refetch_events, {"PIP_OPAL_PATCH_MAX_BYTES": "0"})
        verdict = "ok" if p95 <= FLOOR_P95_MS else "FAILED"
        print(f"floor: patch p95 {p95:.1f} ms <= {FLOOR_P95_MS:.0f} ms: {verdict}")
        return 0 if p95 <= FLOOR_P95_MS else 1


if __name__ == "__main__":
    sys.exit(main())
