"""A sync run in a process of its own, for tests that SIGKILL it mid-run.

    python -m tests.sync.killable DB_URL LOCK_DIR CONNECTION_ID SOURCE COUNT [--stall-in-commit]

It fills a FakeSource named SOURCE_NAME with COUNT devices (hostnames ``moved-N``),
runs a full sync of the connection and prints ``page N`` after every page. With
``--stall-in-commit`` it prints ``applied`` once the records are written inside the
commit transaction and then waits there forever, so the test can kill it before
the commit lands.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from pip_service.db.session import create_engine, is_sqlite, session_factory
from pip_service.secrets.crypto import KeyRing
from pip_service.sync import engine
from pip_service.sync.locks import FileLocks, PostgresLocks, SyncLocks
from pip_service.sync.progress import SyncProgress
from tests.sync.source import SOURCES, FakeSource, install_globally


def _stall_after_apply() -> None:
    real = engine.apply_staged

    async def apply_then_stall(*args: Any, **kwargs: Any) -> Any:
        await real(*args, **kwargs)
        print("applied", flush=True)
        await asyncio.sleep(3600)

    engine.apply_staged = apply_then_stall  # type: ignore[assignment]


async def main(args: list[str]) -> None:
    url, lock_dir, connection_id, source_name, count = args[:5]
    if "--stall-in-commit" in args:
        _stall_after_apply()
    install_globally()
    source = SOURCES[source_name] = FakeSource(name=source_name, page_delay=0.02)
    for index in range(int(count)):
        source.put(f"d{index:05d}", hostname=f"moved-{index}")
    db_engine = create_engine(url)
    locks: SyncLocks = FileLocks(Path(lock_dir))
    if not is_sqlite(url):
        locks = PostgresLocks(url)

    def report(progress: SyncProgress) -> None:
        print(f"page {progress.pages}", flush=True)

    await engine.run_sync(
        sessions=session_factory(db_engine),
        connection_id=int(connection_id),
        mode="full",
        keyring=KeyRing.parse(sys.stdin.readline().strip()),
        locks=locks,
        on_progress=report,
    )
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
