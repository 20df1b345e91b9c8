"""The PIP served by uvicorn in a process of its own, as OPAL reaches it in production."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.rigs.opal import Process, free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def run_pip_app(workdir: Path, env: Mapping[str, str], *, port: int | None = None) -> Iterator[str]:
    """``uvicorn --factory pip_service.api.app:create_app`` (1 worker) with ``env``; yields its URL.

    It runs in ``workdir`` so a developer's ``.env`` is not read; ``env`` holds
    every ``PIP_*`` setting it needs.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "pip_service.api.app:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    log = workdir / "pip.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            command,
            env={**clean, "PYTHONPATH": str(ROOT), **env},
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    process = Process("pip", popen, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{url}/healthz")
        yield url
    finally:
        process.stop()
