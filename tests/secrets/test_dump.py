"""A dump of the PostgreSQL database holds no secret, token or verifier in plaintext."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pip_service.runtime import Runtime
from pip_service.secrets.crypto import generate_key
from tests.conftest import Database
from tests.secrets.helpers import plaintexts, seed, settings_for
from tests.sync.source import FakeSource, fake_source, install

__all__ = ["fake_source"]


@pytest.fixture(autouse=True)
def memory_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)


async def test_pg_dump_contains_no_plaintext_secret(
    pg_db: Database, tmp_path: Path, fake_source: FakeSource
) -> None:
    fake_source.fill(5)
    runtime = Runtime(settings_for(pg_db.url, tmp_path, f"k1:{generate_key()}"))
    await runtime.start()
    ids = await seed(runtime, fake_source.name, 3)
    for connection_id in ids:  # sync runs, audit events and records are in the dump too
        assert (await runtime.run_connection(connection_id, mode="full")).status == "success"
    await runtime.stop()
    url = pg_db.url.replace("postgresql+asyncpg://", "postgresql://")

    dump = subprocess.run(["pg_dump", "--data-only", url], capture_output=True, check=True).stdout

    assert b"COPY public.oauth_tokens" in dump and b"memory-api-token" not in dump
    forms = [(s, s.encode()) for s in plaintexts(3)] + [
        (s, s.encode().hex().encode()) for s in plaintexts(3)
    ]  # bytea is hex
    leaked = [secret for secret, form in forms if form in dump]
    assert leaked == []
    assert b"\\x01" in dump  # the sealed envelopes themselves are there (version byte 1)
