"""Key rotation while syncs read the secrets, and the start-up key check."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pip_service.cli import app
from pip_service.connections.models import Connection
from pip_service.errors import ConfigError
from pip_service.oauth.models import OAuthToken
from pip_service.oauth.tokens import unseal
from pip_service.runtime import Runtime
from pip_service.secrets.crypto import KeyRing, generate_key
from pip_service.secrets.rotation import check_stored_keys, key_usage, rotate
from tests.conftest import Database
from tests.secrets.helpers import ACCESS, seed, settings_for
from tests.sync.source import FakeSource, fake_source, install

__all__ = ["fake_source"]


@pytest.fixture(autouse=True)
def memory_connector(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)


async def test_rotation_under_load_leaves_nothing_undecryptable(
    db: Database, tmp_path: Path, fake_source: FakeSource
) -> None:
    old, new = f"old:{generate_key()}", f"new:{generate_key()}"
    fake_source.fill(20)
    fake_source.page_delay = 0.01
    first = Runtime(settings_for(db.url, tmp_path, old))
    await first.start()
    ids = await seed(first, fake_source.name, 6)
    await first.stop()
    runtime = Runtime(settings_for(db.url, tmp_path, f"{old},{new}"))
    await runtime.start()
    stop = asyncio.Event()

    async def keep_syncing(connection_id: int) -> list[str]:
        statuses = []
        while not stop.is_set():
            statuses.append((await runtime.run_connection(connection_id, mode="full")).status)
        return statuses

    syncs = [asyncio.create_task(keep_syncing(i)) for i in ids[:3]]
    await asyncio.sleep(0.2)
    report = await rotate(runtime.sessions, runtime.keyring)
    stop.set()
    statuses = [s for task in syncs for s in await task]

    assert statuses and set(statuses) == {"success"}
    assert report.total_rotated == 6 * 3  # connection secret, client secret, tokens
    usage = await key_usage(runtime.sessions)
    assert {kid for counts in usage.values() for kid in counts} == {"new"}
    only_new = KeyRing.parse(new)
    await check_stored_keys(runtime.sessions, only_new)
    async with runtime.sessions() as session:
        rows = list(await session.scalars(select(OAuthToken).order_by(OAuthToken.connection_id)))
    assert [unseal(only_new, row).access_token for row in rows] == [
        ACCESS.format(n=n) for n in range(6)
    ]
    assert (await rotate(runtime.sessions, runtime.keyring)).total_rotated == 0  # idempotent
    await runtime.stop()


async def test_a_missing_key_fails_start_up_with_a_clear_message(
    sqlite_db: Database, tmp_path: Path, fake_source: FakeSource
) -> None:
    old = f"old:{generate_key()}"
    first = Runtime(settings_for(sqlite_db.url, tmp_path, old))
    await first.start()
    await seed(first, fake_source.name, 1)
    await first.stop()

    runtime = Runtime(settings_for(sqlite_db.url, tmp_path, f"new:{generate_key()}"))
    with pytest.raises(ConfigError) as caught:
        await runtime.start()

    assert "key id(s) 'old'" in caught.value.message
    assert "PIP_ENCRYPTION_KEYS does not configure" in caught.value.message
    assert old.split(":")[1] not in caught.value.message
    await runtime.engine.dispose()


async def test_a_wrong_key_under_the_right_id_fails_start_up(
    sqlite_db: Database, tmp_path: Path, fake_source: FakeSource
) -> None:
    first = Runtime(settings_for(sqlite_db.url, tmp_path, f"k1:{generate_key()}"))
    await first.start()
    await seed(first, fake_source.name, 1)
    await first.stop()

    runtime = Runtime(settings_for(sqlite_db.url, tmp_path, f"k1:{generate_key()}"))
    with pytest.raises(ConfigError, match="the key configured as 'k1' does not open"):
        await runtime.start()
    await runtime.engine.dispose()


async def test_a_lost_embedded_key_file_fails_start_up_instead_of_making_a_new_key(
    sqlite_db: Database, tmp_path: Path, fake_source: FakeSource
) -> None:
    first = Runtime(settings_for(sqlite_db.url, tmp_path, None))
    await first.start()
    await seed(first, fake_source.name, 1)
    await first.stop()
    (tmp_path / "encryption.key").unlink()

    runtime = Runtime(settings_for(sqlite_db.url, tmp_path, None))  # generates a fresh local1
    with pytest.raises(ConfigError, match="'local1' does not open"):
        await runtime.start()
    await runtime.engine.dispose()


def test_the_keys_cli_rotates_and_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_source: FakeSource
) -> None:
    database = tmp_path / "pip.db"
    url = f"sqlite+aiosqlite:///{database}"
    old, new = f"old:{generate_key()}", f"new:{generate_key()}"

    async def prepare() -> None:
        runtime = Runtime(settings_for(url, tmp_path, old))
        await runtime.start()
        await seed(runtime, fake_source.name, 2)
        await runtime.stop()

    asyncio.run(prepare())
    for name in ("PIP_REDIS_URL", "PIP_BOOTSTRAP_ADMIN_TOKEN", "PIP_ENCRYPTION_PRIMARY_KEY_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIP_DATABASE_URL", url)
    monkeypatch.setenv("PIP_DATA_DIR", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    monkeypatch.setenv("PIP_ENCRYPTION_KEYS", f"{old},{new}")
    rotated = runner.invoke(app, ["keys", "rotate"])
    again = runner.invoke(app, ["keys", "rotate"])
    monkeypatch.setenv("PIP_ENCRYPTION_KEYS", new)
    checked = runner.invoke(app, ["keys", "check"])
    monkeypatch.setenv("PIP_ENCRYPTION_KEYS", old)
    refused = runner.invoke(app, ["keys", "check"])

    assert rotated.exit_code == 0 and "re-encrypted 6 values under key 'new'" in rotated.stdout
    assert "re-encrypted 0 values" in again.stdout
    assert checked.exit_code == 0, checked.output
    assert refused.exit_code == 2 and "key id(s) 'new'" in refused.output
    assert len(refused.output.strip().splitlines()) == 1


async def test_connections_keep_their_updated_at_through_rotation(
    sqlite_db: Database, tmp_path: Path, fake_source: FakeSource
) -> None:
    old, new = f"old:{generate_key()}", f"new:{generate_key()}"
    first = Runtime(settings_for(sqlite_db.url, tmp_path, old))
    await first.start()
    await seed(first, fake_source.name, 1)
    async with first.sessions() as session:
        before = await session.scalar(select(Connection.updated_at))
    await first.stop()

    runtime = Runtime(settings_for(sqlite_db.url, tmp_path, f"{old},{new}"))
    await runtime.start()
    await rotate(runtime.sessions, runtime.keyring)
    async with runtime.sessions() as session:
        after = await session.scalar(select(Connection.updated_at))
    await runtime.stop()

    assert after == before
