"""Serve the 50,000-device document: the PIP's /opal/pip-data vs a bare Starlette app.

    .venv/bin/python benchmarks/serve_document.py [--devices 50000] [--seconds 3]
        [--cache both|memory|redis]   (--redis: --cache redis)

Builds an ``assets/devices`` body of the documents' shape, stores it as the
document's snapshot (the PIP serves it from its cache, filled from SQL), and
serves the same precompressed bytes from a bare Starlette app (the stack's
limit). Both run under uvicorn with the same settings (1 worker, no access log)
and are loaded by the same client (``wrk`` when installed, otherwise a small
asyncio keep-alive client in its own process), loopback only. Rounds are paired
(bare and PIP back to back). Prints requests/s and p50/p99 (median round) for the
full gzip body and for a 304 revalidation (``ETag``, ``Cache-Control`` and ``Vary``
on both sides; the PIP's also carries its ``X-Correlation-ID``), and the median
PIP/bare ratio against the floors (full ≥ 0.60, 304 ≥ 0.75), once with the PIP's
in-process cache and once with Redis (127.0.0.1:6379, database 15, emptied of the
PIP's keys first; skipped with a note under ``both`` when no Redis answers). Exit
status 1 when a floor is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TOKEN = "pip_benchmark-read-token-00000000000000001"
DOCUMENT = "assets/devices"
FLOORS = {"full": 0.60, "304": 0.75}
BARE_ENV = "PIP_BENCH_BARE_BODY"
KEY_ENV = "PIP_ENCRYPTION_KEYS"
REDIS_URL = "redis://127.0.0.1:6379/15"


# -- the document ------------------------------------------------------------


def device_document(count: int, seed: int = 7) -> dict[str, Any]:
    """A devices document of the builder's shape (keys sorted when encoded)."""
    rnd = random.Random(seed)
    kinds = ["laptop", "desktop", "phone", "tablet", "server"]
    oses = [("Windows", "11 23H2"), ("macOS", "14.6"), ("iOS", "17.5"), ("Android", "14")]
    body: dict[str, Any] = {}
    for i in range(count):
        serial = f"SN{i:08d}{rnd.choice('ABCDEFGH')}"
        os_name, os_version = rnd.choice(oses)
        owner = f"user{rnd.randrange(10_000):05d}@example.com"
        state = rnd.choice(["compliant", "compliant", "compliant", "noncompliant"])
        body[serial] = {
            "key": serial, "serial_number": serial, "asset_tag": f"AT-{i:06d}",
            "hostname": f"host-{i:06d}", "device_type": rnd.choice(kinds), "os": os_name,
            "os_version": os_version, "manufacturer": rnd.choice(["Dell", "Apple", "Lenovo"]),
            "model": f"Model {rnd.randrange(40)}", "location": rnd.choice(["NYC", "LON", "BER"]),
            "department": rnd.choice(["Engineering", "Sales", "Finance", "IT"]),
            "owner": owner, "status": "active", "install_status": "installed",
            "cmdb_class": "cmdb_ci_computer", "ring": rnd.choice(["canary", "early", "broad"]),
            "compliance_score": rnd.randrange(60, 101),
            "compliance": {"intune": {"state": state, "reasons": []}},
            "compliant": state == "compliant", "managed_by": ["intune"],
            "management_state": "managed", "enrollment_state": "enrolled",
            "encrypted": True, "jailbroken": False, "ownership": "corporate",
            "enrolled_at": "2025-03-01T09:00:00Z", "last_seen": "2026-11-01T08:00:00Z",
            "sources": ["cmdb", "intune"],
            "provenance": {"owner": "cmdb", "os_version": "intune", "compliant": "intune"},
        }  # fmt: skip
    return body


async def store_snapshot(
    database_url: str, workdir: Path, body: dict[str, Any]
) -> tuple[bytes, str]:
    """Migrate the database, store the body as the document's snapshot; returns (gzip, etag)."""
    from connectors.base.types import Sensitivity
    from pip_service.db.session import transaction
    from pip_service.documents import snapshots
    from pip_service.documents.serialize import encode
    from pip_service.runtime import Runtime

    runtime = Runtime(_settings(database_url, workdir))
    await runtime.start()
    try:
        encoded = encode(body)
        version = snapshots.NewVersion(encoded, len(body), Sensitivity.CONFIDENTIAL, "bench")
        now = datetime.now(UTC)
        async with transaction(runtime.sessions) as session:
            await snapshots.store_version(
                session, DOCUMENT, version, (), now, now - timedelta(seconds=1)
            )
        return encoded.gz, encoded.etag
    finally:
        await runtime.stop()


def _settings(database_url: str, workdir: Path) -> Any:
    from pydantic import SecretStr

    from pip_service.config import Settings

    return Settings(
        database_url=database_url, opal_tokens=SecretStr(TOKEN), scheduler_enabled=False,
        redis_url=None, log_json=False, data_dir=workdir,
        encryption_keys=SecretStr(os.environ[KEY_ENV]),
    )  # fmt: skip


# -- the bare app --------------------------------------------------------------


def bare_app() -> Any:
    """A Starlette app serving the same precompressed bytes with ETag/304 (uvicorn factory).

    Its 200 and 304 carry what RFC 9110 asks of the PIP's too (``ETag``,
    ``Cache-Control``, ``Vary: Accept-Encoding``) and nothing else of its own.
    """
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body_path = Path(os.environ[BARE_ENV])
    body, etag = body_path.read_bytes(), body_path.with_suffix(".etag").read_text()
    headers = {"ETag": etag, "Cache-Control": "private, max-age=900", "Vary": "Accept-Encoding"}

    async def serve(request: Request) -> Response:
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(
            body, media_type="application/json", headers={**headers, "Content-Encoding": "gzip"}
        )

    return Starlette(routes=[Route("/opal/pip-data/{path:path}", serve)])


# -- servers -------------------------------------------------------------------


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(
    factory: str, env: dict[str, str], workdir: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """uvicorn with the settings both apps share; waits until it answers."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    log = (workdir / f"{factory.split(':')[-1]}.log").open("wb")
    process = subprocess.Popen(
        command, env={**os.environ, "PYTHONPATH": str(ROOT), **env}, cwd=workdir,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.2)
    stop_server(process)
    raise RuntimeError(f"{factory} did not start; see {log.name}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# -- load ----------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """One load run."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def run_wrk(url: str, headers: dict[str, str], seconds: float, connections: int) -> Result:
    """Load with wrk (1 thread), parsing its --latency report."""
    duration = f"-d{max(1, round(seconds))}s"
    args = ["wrk", "-t1", f"-c{connections}", duration, "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    return Result(rps, _wrk_ms(out, "50%"), _wrk_ms(out, "99%"), requests, errors)


def _wrk_ms(out: str, label: str) -> float:
    value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_python_client(
    url: str, headers: dict[str, str], seconds: float, connections: int
) -> Result:
    """The fallback client, in its own process (so it does not share the servers' GIL)."""
    args = [sys.executable, __file__, "--client", url, str(seconds), str(connections)]
    for name, value in headers.items():
        args += [f"{name}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout.split()
    rps, p50, p99, requests, errors = (float(x) for x in out)
    return Result(rps, p50, p99, int(requests), int(errors))


async def _client_main(url: str, seconds: float, connections: int, headers: list[str]) -> None:
    host, port_path = url.removeprefix("http://").split(":", 1)
    port, path = port_path.split("/", 1)
    request = (f"GET /{path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(f"{h}\r\n" for h in headers)
               + "\r\n").encode()  # fmt: skip
    latencies: list[float] = []
    errors = [0]
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.monotonic() < deadline:
            began = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = re.search(rb"(?i)content-length:\s*(\d+)", head)
            if length:
                await reader.readexactly(int(length.group(1)))
            latencies.append(time.perf_counter() - began)
            errors[0] += status >= 400
        writer.close()

    began = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.monotonic() - began
    cuts = statistics.quantiles(latencies, n=100)
    print(len(latencies) / elapsed, cuts[49] * 1000, cuts[98] * 1000, len(latencies), errors[0])


# -- the run -------------------------------------------------------------------


def measure(load: Any, urls: dict[str, str], headers: dict[str, str], seconds: float,
            connections: int, rounds: int) -> tuple[dict[str, Result], float]:  # fmt: skip
    """Paired rounds (bare and PIP back to back, order alternating) after a warm-up of each.

    Returns each side's median round and the median of the per-round ratios: on a
    shared machine the load drifts, and a pair run back to back sees the same drift.
    """
    for url in urls.values():
        load(url, headers, 1, connections)
    runs: dict[str, list[Result]] = {name: [] for name in urls}
    ratios = []
    for round_no in range(rounds):
        order = list(urls) if round_no % 2 == 0 else list(reversed(urls))
        pair = {name: load(urls[name], headers, seconds, connections) for name in order}
        for name, result in pair.items():
            runs[name].append(result)
        ratios.append(pair["pip"].rps / pair["bare"].rps)
    medians = {name: sorted(results, key=lambda r: r.rps)[len(results) // 2]
               for name, results in runs.items()}  # fmt: skip
    return medians, statistics.median(ratios)


@dataclass(frozen=True)
class Setup:
    """What every cache mode's run shares: the options, the stored document, the PIP's env."""

    options: argparse.Namespace
    workdir: Path
    etag: str
    pip_env: dict[str, str]
    load: Any


def main() -> int:
    """Build, serve, load, report: per cache mode."""
    options = _parse_args()
    os.environ.pop("PIP_REDIS_URL", None)  # the mode decides
    modes = ["memory", "redis"] if options.cache == "both" else [options.cache]
    use_wrk = shutil.which("wrk") is not None and not options.python_client
    workdir = Path(tempfile.mkdtemp(prefix="pip-bench-"))
    try:
        setup = _prepare(options, workdir, run_wrk if use_wrk else run_python_client)
        print(f"client: {'wrk' if use_wrk else 'python'}, {options.connections} connections, "
              f"{options.seconds:.0f} s x {options.rounds} rounds")  # fmt: skip
        ok = True
        for mode in modes:
            ok &= run_mode(setup, mode, required=options.cache != "both")
        return 0 if ok else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--devices", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--cache", choices=["both", "memory", "redis"], default="both",
        help=f"PIP cache: in-process, Redis ({REDIS_URL}), or one run of each",
    )  # fmt: skip
    parser.add_argument(
        "--redis", dest="cache", action="store_const", const="redis", help="--cache redis"
    )
    parser.add_argument("--python-client", action="store_true", help="don't use wrk")
    parser.add_argument(
        "--pip-factory", default="pip_service.api.app:create_app", help="uvicorn factory of the PIP"
    )
    return parser.parse_args()


def _prepare(options: argparse.Namespace, workdir: Path, load: Any) -> Setup:
    """Build the document, store its snapshot and the bare app's copy."""
    from pip_service.secrets.crypto import generate_key

    os.environ[KEY_ENV] = f"bench:{generate_key()}"
    database_url = f"sqlite+aiosqlite:///{workdir / 'pip.db'}"
    began = time.monotonic()
    body = device_document(options.devices)
    body_gz, etag = asyncio.run(store_snapshot(database_url, workdir, body))
    (workdir / "body.gz").write_bytes(body_gz)
    (workdir / "body.etag").write_text(etag)
    print(f"document: {options.devices} devices, gzip {len(body_gz) / 1e6:.2f} MB, "
          f"built in {time.monotonic() - began:.1f} s")  # fmt: skip
    pip_env = {"PIP_DATABASE_URL": database_url, "PIP_OPAL_TOKENS": TOKEN,
               "PIP_SCHEDULER_ENABLED": "false", "PIP_LOG_JSON": "false",
               "PIP_DATA_DIR": str(workdir), KEY_ENV: os.environ[KEY_ENV]}  # fmt: skip
    return Setup(options, workdir, etag, pip_env, load)


def run_mode(setup: Setup, mode: str, *, required: bool) -> bool:
    """Serve with one cache mode and measure both scenarios; whether the floors are met."""
    env = dict(setup.pip_env)
    if mode == "redis":
        if not _empty_redis():
            print(f"PIP cache: redis — skipped, no Redis answers at {REDIS_URL}")
            return not required
        env["PIP_REDIS_URL"] = REDIS_URL
    print(f"PIP cache: {'in-process' if mode == 'memory' else 'redis'}")
    bare_env = {BARE_ENV: str(setup.workdir / "body.gz")}
    options = setup.options
    servers = [
        start_server("benchmarks.serve_document:bare_app", bare_env, setup.workdir),
        start_server(options.pip_factory, env, setup.workdir),
    ]
    try:
        urls = {name: f"http://127.0.0.1:{port}/opal/pip-data/{DOCUMENT}"
                for name, (_, port) in zip(("bare", "pip"), servers, strict=True)}  # fmt: skip
        common = {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip"}
        scenarios = {"full": common, "304": {**common, "If-None-Match": setup.etag}}
        ok = True
        for scenario, headers in scenarios.items():
            results, ratio = measure(setup.load, urls, headers, options.seconds,
                                     options.connections, options.rounds)  # fmt: skip
            ok &= report(scenario, results, ratio)
        return ok
    finally:
        for process, _ in servers:
            stop_server(process)


def _empty_redis() -> bool:
    """Drop the PIP's keys from the benchmark's Redis database; False when Redis is not there."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)
    try:
        keys = list(client.scan_iter("pip:*"))
        if keys:
            client.delete(*keys)
        return True
    except redis.RedisError:
        return False
    finally:
        client.close()


def report(scenario: str, results: dict[str, Result], ratio: float) -> bool:
    """Print one scenario's figures and median ratio; whether it meets its floor."""
    for name in ("bare", "pip"):
        r = results[name]
        print(f"  {scenario:>4} {name:>4}: {r.rps:9.1f} req/s  p50 {r.p50_ms:8.2f} ms  "
              f"p99 {r.p99_ms:8.2f} ms  ({r.requests} requests, {r.errors} errors)")  # fmt: skip
    floor = FLOORS[scenario]
    verdict = "ok" if ratio >= floor and results["pip"].errors == 0 else "BELOW FLOOR"
    print(f"  {scenario:>4} ratio pip/bare (median of paired rounds): {ratio:.2f} "
          f"(floor {floor:.2f}) {verdict}")  # fmt: skip
    return verdict == "ok"


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        url, seconds, connections, *header_lines = sys.argv[2:]
        asyncio.run(_client_main(url, float(seconds), int(connections), header_lines))
    else:
        sys.exit(main())
