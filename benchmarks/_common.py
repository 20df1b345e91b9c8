"""Scaffolding the benchmarks share: a fake in a process of its own, peak RSS, a scratch database.

Benchmarks run as scripts (``.venv/bin/python benchmarks/<name>.py``), so their
folder is first on ``sys.path`` and this module is imported as ``_common``.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import psutil


def peak_rss_mb() -> float:
    """This process's peak resident set size (Linux reports KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class PeakRss:
    """Samples this process's RSS every 10 ms while a block runs."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._process = psutil.Process()

    def __enter__(self) -> PeakRss:
        self.peak = self._process.memory_info().rss
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self._process.memory_info().rss)

    @property
    def mb(self) -> float:
        """The peak in MB."""
        return round(self.peak / 2**20, 1)


@dataclass
class Measured:
    """What :func:`measured` saw of a block (filled in when the block ends)."""

    seconds: float = 0.0
    cpu_seconds: float = 0.0
    peak_rss_mb: float = 0.0


@contextmanager
def measured() -> Iterator[Measured]:
    """Wall seconds, this process's CPU seconds and its sampled peak RSS during the block."""
    figures = Measured()
    cpu = psutil.Process().cpu_times()
    with PeakRss() as rss:
        began = time.perf_counter()
        yield figures
        figures.seconds = round(time.perf_counter() - began, 2)
    spent = psutil.Process().cpu_times()
    figures.cpu_seconds = round(spent.user + spent.system - cpu.user - cpu.system, 2)
    figures.peak_rss_mb = rss.mb


@contextmanager
def served_in_process(
    target: Callable[..., None], *args: Any, timeout: float | None = None
) -> Iterator[Connection]:
    """Run ``target(*args, pipe)`` in a spawned process; yield our end; then send "stop" and wait.

    The target sends what the benchmark needs (its URL, credentials) and serves
    until it receives "stop"; a fake served this way is remote to the benchmark.
    """
    ours, theirs = multiprocessing.Pipe()
    process = multiprocessing.get_context("spawn").Process(target=target, args=(*args, theirs))
    process.start()
    try:
        yield ours
    finally:
        ours.send("stop")
        process.join(timeout)


def create_pg_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A new, empty PostgreSQL database next to ``admin_url``: its asyncpg URL and its dropper."""
    from sqlalchemy import create_engine, text

    name = f"pip_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        admin_url.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{url}/{name}", drop
