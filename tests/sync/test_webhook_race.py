"""A webhook writes a record while a run is reading: the run's older copy never wins.

The run stages what it read page by page and applies it at commit. A webhook's
write lands at once. Whatever the run read of that record before the webhook
came is older, so at commit the webhook's version stays (changed, confirmed or
deleted), and a full run does not mark the record deleted for not seeing it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base.canonical import CanonicalDevice
from pip_service.connections.models import Connection
from pip_service.db.base import utcnow
from pip_service.sync import writer
from pip_service.sync.progress import SyncProgress
from pip_service.sync.writer import remove_record, to_row, upsert_record
from tests.conftest import Database
from tests.sync.conftest import Sync
from tests.sync.helpers import live, records
from tests.sync.source import FakeSource

Write = Callable[[AsyncSession, int], Awaitable[Any]]


def after_first_page(db: Database, connection_id: int, write: Write) -> Any:
    """A progress callback that does ``write`` once, after the run staged its first page."""
    done: list[bool] = []

    async def hook(progress: SyncProgress) -> None:
        if not done:
            done.append(True)
            async with db.sessions.begin() as session:
                await write(session, connection_id)

    return hook


def webhook_upsert(hostname: str, source_id: str = "d00003") -> Write:
    """A webhook's write of one device, as ``webhooks.apply.store_change`` does it."""

    async def write(session: AsyncSession, connection_id: int) -> bool:
        device = CanonicalDevice(
            source_id=source_id, serial_number=f"SN-{source_id}", hostname=hostname
        )
        return await upsert_record(
            session, connection_id=connection_id, stream="devices", row=to_row(device),
            is_demo=False, now=utcnow(),
        )  # fmt: skip

    return write


async def webhook_remove(session: AsyncSession, connection_id: int) -> bool:
    """A webhook saying device d00003 was deleted."""
    return await remove_record(
        session, connection_id=connection_id, stream="devices", external_id="d00003", now=utcnow()
    )


@pytest.fixture
async def conn(fake_source: FakeSource, connect: Any, sync: Sync) -> Connection:
    """A connection to 25 devices (d00000..d00024, 10 a page), synced once."""
    fake_source.fill(25)
    connection = await connect()
    await sync(connection.id)
    return cast(Connection, connection)


@pytest.mark.parametrize("mode", ["full", "incremental"])
async def test_a_webhook_change_during_a_run_is_not_overwritten_by_the_run(
    db: Database, fake_source: FakeSource, conn: Connection, sync: Sync, mode: str
) -> None:
    fake_source.put("d00003", hostname="read-by-the-run")  # on the run's first page
    hook = after_first_page(db, conn.id, webhook_upsert("from-the-webhook"))

    result = await sync(conn.id, mode=mode, on_progress=hook)

    assert result.status == "success"
    assert (await records(db, conn.id))["d00003"].data["hostname"] == "from-the-webhook"
    assert (result.created, result.updated, result.deleted) == (0, 0, 0)


async def test_a_webhook_confirming_the_stored_record_keeps_it(
    db: Database, fake_source: FakeSource, conn: Connection, sync: Sync
) -> None:
    fake_source.put("d00003", hostname="briefly-renamed")  # the run reads this...
    # ...then the source is renamed back: the webhook's copy equals what is stored
    hook = after_first_page(db, conn.id, webhook_upsert("host-3"))

    await sync(conn.id, mode="full", on_progress=hook)

    assert (await records(db, conn.id))["d00003"].data["hostname"] == "host-3"


async def test_a_webhook_deletion_during_a_run_is_not_undone_by_the_run(
    db: Database, fake_source: FakeSource, conn: Connection, sync: Sync
) -> None:
    fake_source.put("d00003", hostname="read-by-the-run")

    await sync(conn.id, mode="full", on_progress=after_first_page(db, conn.id, webhook_remove))

    assert "d00003" not in await live(db, conn.id)


async def test_a_full_run_does_not_delete_what_a_webhook_wrote_while_it_read(
    db: Database, fake_source: FakeSource, conn: Connection, sync: Sync
) -> None:
    fake_source.delete("d00020")  # gone when the run reaches its page
    hook = after_first_page(db, conn.id, webhook_upsert("host-20 renamed", source_id="d00020"))

    during = await sync(conn.id, mode="full", on_progress=hook)
    after = await sync(conn.id, mode="full")

    assert during.deleted == 0, "the webhook said it exists after the run began"
    assert after.deleted == 1, "the next full run reconciles it"
    assert "d00020" not in await live(db, conn.id)


async def test_records_a_webhook_did_not_touch_are_applied_as_read(
    db: Database, fake_source: FakeSource, conn: Connection, sync: Sync
) -> None:
    fake_source.put("d00003", hostname="read-by-the-run")
    fake_source.put("d00004", hostname="also-read")
    fake_source.delete("d00005")
    hook = after_first_page(db, conn.id, webhook_upsert("from-the-webhook"))

    result = await sync(conn.id, mode="full", on_progress=hook)

    stored = await records(db, conn.id)
    assert stored["d00003"].data["hostname"] == "from-the-webhook"
    assert stored["d00004"].data["hostname"] == "also-read"
    assert stored["d00005"].deleted_at is not None
    assert (result.updated, result.deleted) == (1, 1)


async def test_a_webhook_write_racing_the_commit_still_wins(
    db: Database,
    fake_source: FakeSource,
    conn: Connection,
    sync: Sync,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def looked_too_early(*args: Any) -> dict[str, set[str]]:
        return {}  # as if the webhooks committed after the commit's first look

    monkeypatch.setattr(writer, "_touched_since", looked_too_early)
    fake_source.put("d00003", hostname="read-by-the-run")
    fake_source.delete("d00020")
    changed, kept = webhook_upsert("from-the-webhook"), webhook_upsert("still-here", "d00020")

    async def both(session: AsyncSession, connection_id: int) -> None:
        await changed(session, connection_id)
        await kept(session, connection_id)

    await sync(conn.id, mode="full", on_progress=after_first_page(db, conn.id, both))

    stored = await records(db, conn.id)
    assert stored["d00003"].data["hostname"] == "from-the-webhook"
    assert stored["d00020"].deleted_at is None
