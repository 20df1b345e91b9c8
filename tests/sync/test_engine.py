"""The sync engine on both databases: full and incremental runs, deletes, failures, cancellation."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson
import pytest

from connectors.base.canonical import CanonicalDevice
from connectors.base.errors import FatalSourceError, SourceAuthError, TransientSourceError
from pip_service.db.base import utcnow
from pip_service.errors import ConflictError, NotFoundError
from pip_service.sync.engine import SyncResult
from pip_service.sync.progress import SyncProgress
from pip_service.sync.writer import to_row, upsert_record
from tests.conftest import Database
from tests.sync.conftest import TOKEN, Sync
from tests.sync.helpers import connection, cursors, live, records, runs, snapshot, staged_count
from tests.sync.source import FakeSource


async def test_full_run_stores_each_record_as_documented(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(25, os="macOS", owner="Alice@Example.com")
    conn = await connect()

    result = await sync(conn.id)

    assert (result.status, result.mode, result.fetched, result.created) == (
        "success",
        "full",
        25,
        25,
    )
    assert result.changed_entities == {"device"}
    stored = await records(db, conn.id)
    assert len(stored) == 25
    row = stored["d00003"]
    assert (row.entity, row.entity_key, row.deleted_at) == ("device", "SN-D00003", None)
    assert row.data == {
        "serial_number": "SN-d00003", "hostname": "host-3", "os": "macOS",
        "owner": "alice@example.com", "compliance_reasons": [], "extra": {},
    }  # fmt: skip
    canonical = orjson.dumps(row.data, option=orjson.OPT_SORT_KEYS)
    assert row.content_hash == hashlib.sha256(canonical).hexdigest()
    assert await cursors(db, conn.id) == {"devices": {"version": 25}}
    [run] = await runs(db, conn.id)
    assert (run.status, run.fetched, run.created, run.pages, run.correlation_id) == (
        "success", 25, 25, 3, result.correlation_id,
    )  # fmt: skip
    assert len(result.correlation_id) == 32
    after = await connection(db, conn.id)
    assert after.last_sync_status == "success" and after.last_success_at is not None


async def test_unchanged_records_are_not_written_again(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(30)
    conn = await connect()
    await sync(conn.id)
    before = await snapshot(db, conn.id)

    result = await sync(conn.id, mode="full")

    assert (result.created, result.updated, result.deleted, result.unchanged) == (0, 0, 0, 30)
    assert result.changed_entities == set()
    assert await snapshot(db, conn.id) == before


async def test_incremental_run_resumes_from_the_cursor(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(20)
    conn = await connect()
    await sync(conn.id)
    before = await snapshot(db, conn.id)
    fake_source.put("d00001", hostname="renamed")
    fake_source.put("d00099", hostname="new")
    fake_source.delete("d00005")

    result = await sync(conn.id)

    assert fake_source.requests[-1] == ("incremental", {"version": 20})
    assert (result.mode, result.fetched, result.created, result.updated, result.deleted) == (
        "incremental", 2, 1, 1, 1,
    )  # fmt: skip
    after = await snapshot(db, conn.id)
    assert after["d00001"][0]["hostname"] == "renamed"
    assert after["d00005"][2] is not None  # deleted_at
    untouched = set(before) - {"d00001", "d00005"}
    assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
    assert await cursors(db, conn.id) == {"devices": {"version": 23}}


async def test_full_run_marks_records_it_did_not_see_deleted(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(12)
    conn = await connect()
    await sync(conn.id)
    fake_source.delete("d00004")
    fake_source.delete("d00007")

    result = await sync(conn.id, mode="full")

    assert (result.deleted, result.changed_entities) == (2, {"device"})
    assert await live(db, conn.id) == set(fake_source.devices)


async def test_deleted_record_seen_again_comes_back(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(3)
    conn = await connect()
    await sync(conn.id)
    fake_source.delete("d00001")
    await sync(conn.id, mode="full")
    fake_source.put("d00001", hostname="back")

    result = await sync(conn.id, mode="full")

    assert (result.updated, result.created) == (1, 0)
    assert (await records(db, conn.id))["d00001"].deleted_at is None


async def test_failure_on_page_37_of_50_changes_nothing_and_the_next_run_resumes(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(500)
    conn = await connect()
    await sync(conn.id)
    before, cursor_before = await snapshot(db, conn.id), await cursors(db, conn.id)
    for index in range(0, 500, 5):
        fake_source.put(f"d{index:05d}", hostname=f"changed-{index}")
    fake_source.delete("d00499")
    fake_source.fail(37, TransientSourceError("HTTP 500 from the source", status_code=500))

    failed = await sync(conn.id, mode="full")

    assert (failed.status, failed.error_code) == ("failed", "source_unavailable")
    assert "HTTP 500" in (failed.error or "")
    assert await snapshot(db, conn.id) == before
    assert await cursors(db, conn.id) == cursor_before
    assert await staged_count(db) == 0
    run = (await runs(db, conn.id))[-1]
    assert (run.status, run.fetched, run.pages, run.finished_at is not None) == (
        "failed",
        360,
        36,
        True,
    )
    assert (await connection(db, conn.id)).consecutive_failures == 1

    fake_source.heal()
    resumed = await sync(conn.id)

    assert resumed.status == "success" and resumed.mode == "incremental"
    assert fake_source.requests[-1] == ("incremental", cursor_before["devices"])
    assert (resumed.updated, resumed.deleted) == (100, 1)
    stored = await records(db, conn.id)
    assert stored["d00010"].data["hostname"] == "changed-10"
    assert await live(db, conn.id) == set(fake_source.devices)
    assert (await connection(db, conn.id)).consecutive_failures == 0


async def test_a_failed_first_run_leaves_no_records(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(50)
    fake_source.fail(3, TransientSourceError("timeout"))
    conn = await connect()

    result = await sync(conn.id)

    assert result.status == "failed"
    assert await records(db, conn.id) == {}
    assert await cursors(db, conn.id) == {}


async def test_auth_failure_asks_for_a_reconnect(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(5)
    fake_source.fail(1, SourceAuthError("the API token was revoked", status_code=401))
    conn = await connect()

    result = await sync(conn.id)

    assert (result.status, result.error_code) == ("failed", "needs_reconnect")
    after = await connection(db, conn.id)
    assert (after.state, after.state_reason) == ("needs_reconnect", "the API token was revoked")


async def test_error_messages_never_carry_the_secret(
    db: Database,
    fake_source: FakeSource,
    connect: Any,
    sync: Sync,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake_source.fill(5)
    fake_source.fail(1, FatalSourceError(f"rejected Authorization: Bearer {TOKEN}"))
    fake_source_crash = RuntimeError(f"boom {TOKEN}")
    conn = await connect()

    first = await sync(conn.id)
    fake_source.fail(1, fake_source_crash)
    second = await sync(conn.id)

    assert first.error == "rejected Authorization: Bearer [redacted]"
    assert (second.error_code, second.error) == ("internal_error", "RuntimeError: boom [redacted]")
    stored = " ".join(str(run.error) for run in await runs(db, conn.id))
    assert TOKEN not in stored and TOKEN not in caplog.text
    assert "[redacted]" in caplog.text


async def test_cancelled_run_applies_nothing(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(100)
    fake_source.page_delay = 0.01
    conn = await connect()
    cancel = asyncio.Event()

    def stop_after_three(progress: SyncProgress) -> None:
        if progress.pages == 3:
            cancel.set()

    result = await sync(conn.id, cancel=cancel, on_progress=stop_after_three)

    assert (result.status, result.error_code) == ("cancelled", "cancelled")
    assert fake_source.pages_served == 3
    assert await records(db, conn.id) == {} and await cursors(db, conn.id) == {}
    assert (await runs(db, conn.id))[-1].status == "cancelled"
    assert (await connection(db, conn.id)).consecutive_failures == 0


async def test_cancelling_the_task_records_the_run_as_cancelled(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(100)
    fake_source.page_delay = 0.05
    conn = await connect()
    task = asyncio.create_task(sync(conn.id))
    await asyncio.sleep(0.2)

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert (await runs(db, conn.id))[-1].status == "cancelled"
    assert await records(db, conn.id) == {}
    assert (await sync(conn.id)).status == "success"


async def test_a_second_concurrent_run_is_refused(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(40)
    fake_source.page_delay = 0.05
    conn = await connect()
    started = asyncio.Event()
    first = asyncio.create_task(sync(conn.id, on_progress=lambda _: started.set()))
    await asyncio.wait_for(started.wait(), 10)

    with pytest.raises(ConflictError, match=f"a sync of connection {conn.id} is already running"):
        await sync(conn.id)

    assert (await first).status == "success"
    assert [run.status for run in await runs(db, conn.id)] == ["success"]


async def test_progress_is_reported_per_page_and_stored(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(35)
    conn = await connect()
    seen: list[SyncProgress] = []

    async def note(progress: SyncProgress) -> None:
        seen.append(progress)

    result = await sync(conn.id, on_progress=note)

    assert [(p.pages, p.records) for p in seen] == [(1, 10), (2, 20), (3, 30), (4, 35)]
    assert all(p.run_id == result.run_id and p.records_per_second > 0 for p in seen)
    assert (await runs(db, conn.id))[-1].progress["records"] == 35


async def test_on_committed_gets_the_result_only_after_a_commit(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(5)
    conn = await connect()
    committed: list[tuple[SyncResult, int]] = []

    async def rebuild(result: SyncResult) -> None:
        committed.append((result, len(await live(db, conn.id))))

    ok = await sync(conn.id, on_committed=rebuild)
    fake_source.fail(1, TransientSourceError("down"))
    await sync(conn.id, mode="full", on_committed=rebuild)

    assert committed == [(ok, 5)]


async def test_auto_mode_is_full_when_a_stream_cannot_resume(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(4, owner="bob@example.com")
    conn = await connect("memory_users")
    first = await sync(conn.id)
    second = await sync(conn.id)

    assert (first.mode, second.mode) == ("full", "full")
    assert first.changed_entities == {"device", "user"}
    assert second.changed_entities == set()


async def test_periodic_full_reconcile(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(4)
    conn = await connect()
    async with db.sessions.begin() as session:
        stored = await session.get(type(conn), conn.id)
        assert stored is not None
        stored.full_sync_every = 3

    modes = [(await sync(conn.id)).mode for _ in range(5)]

    assert modes == ["full", "incremental", "incremental", "full", "incremental"]


async def test_unknown_connection_is_not_found(sync: Sync) -> None:
    with pytest.raises(NotFoundError):
        await sync(424242)


async def test_the_run_carries_the_callers_correlation_id(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(2)
    conn = await connect()

    result = await sync(conn.id, correlation_id="req-7f3a")

    assert result.correlation_id == "req-7f3a"
    assert (await runs(db, conn.id))[-1].correlation_id == "req-7f3a"


async def test_a_record_written_while_a_full_run_reads_is_not_deleted_by_it(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(25)
    conn = await connect()
    await sync(conn.id)
    fake_source.delete("d00003")
    written: list[bool] = []

    async def webhook_write(progress: SyncProgress) -> None:
        if written:
            return
        written.append(True)  # after the first page: as a webhook delivery would
        async with db.sessions.begin() as session:
            record = CanonicalDevice(source_id="d09999", serial_number="SN-HOOK")
            await upsert_record(
                session, connection_id=conn.id, stream="devices", row=to_row(record),
                is_demo=False, now=utcnow(),
            )  # fmt: skip

    result = await sync(conn.id, mode="full", on_progress=webhook_write)

    assert result.deleted == 1
    assert await live(db, conn.id) == set(fake_source.devices) | {"d09999"}


async def test_a_full_run_that_would_delete_most_records_is_refused(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(40)
    conn = await connect()
    await sync(conn.id)
    before = await snapshot(db, conn.id)
    for index in range(25):  # the source "loses" 25 of 40 devices
        fake_source.delete(f"d{index:05d}")

    refused = await sync(conn.id, mode="full", max_delete_fraction=0.5)

    assert (refused.status, refused.error_code) == ("failed", "mass_deletion_refused")
    assert refused.error is not None and "did not see 25 of the 40 stored records" in refused.error
    assert await snapshot(db, conn.id) == before, "nothing applied"
    forced = await sync(conn.id, mode="full")  # no limit: what --force / ?force=true run
    assert (forced.status, forced.deleted) == ("success", 25)


async def test_few_deletions_never_trip_the_guard(
    db: Database, fake_source: FakeSource, connect: Any, sync: Sync
) -> None:
    fake_source.fill(12)
    conn = await connect()
    await sync(conn.id)
    for index in range(10):
        fake_source.delete(f"d{index:05d}")
    result = await sync(conn.id, mode="full", max_delete_fraction=0.5)
    assert (result.status, result.deleted) == ("success", 10)
