"""Unchanged source records are not normalized again (source hashes), through the engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from connectors.base.canonical import CanonicalRecord
from connectors.servicenow.streams import ComputersStream
from pip_service.records.models import Record
from tests.connectors.engine_rig import EngineRig
from tests.connectors.servicenow.harness import Harness

COMPUTERS = 30


@pytest.fixture
def normalized(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The sys_ids ComputersStream normalizes, in order."""
    calls: list[str] = []
    real = ComputersStream.normalize

    def counting(self: ComputersStream, raw: dict[str, Any]) -> CanonicalRecord:
        record = real(self, raw)
        calls.append(record.source_id)
        return record

    monkeypatch.setattr(ComputersStream, "normalize", counting)
    yield calls


@pytest.fixture
async def connection(rig: EngineRig, servicenow: Harness) -> int:
    servicenow.fake.reset(COMPUTERS)
    config = {**servicenow.config(), "page_size": 7, "read_relationships": False}
    return await rig.connect("servicenow", "servicenow", {**config, "read_changes": False})


async def test_second_full_run_normalizes_only_what_the_source_changed(
    rig: EngineRig, connection: int, servicenow: Harness, normalized: list[str]
) -> None:
    first = await rig.sync(connection)
    assert (first.created, len(normalized)) == (COMPUTERS, COMPUTERS)
    before = await rig.stored(connection, "computers")
    assert all(row.source_hash for row in before.values())

    changed = [row["sys_id"] for row in servicenow.fake.rows()[4:6]]
    servicenow.fake.touch(changed, os_version="42.0")
    normalized.clear()
    second = await rig.sync(connection)

    assert sorted(normalized) == sorted(changed)
    assert (second.fetched, second.updated, second.unchanged) == (COMPUTERS, 2, COMPUTERS - 2)
    after = await rig.stored(connection, "computers")
    assert {key: row.data["os_version"] for key, row in after.items() if key in changed} == {
        key: "42.0" for key in changed
    }
    untouched = [key for key in after if key not in changed]
    assert all(after[key].updated_at == before[key].updated_at for key in untouched)


async def test_raw_change_with_the_same_content_is_not_an_update(
    rig: EngineRig, connection: int, servicenow: Harness, normalized: list[str]
) -> None:
    await rig.sync(connection)
    touched = servicenow.fake.rows()[3]["sys_id"]
    servicenow.fake.touch([touched])  # only sys_updated_on moves: not part of the device
    before = (await rig.stored(connection, "computers"))[touched]

    normalized.clear()
    second = await rig.sync(connection)
    assert normalized == [touched]
    assert (second.updated, second.unchanged) == (0, COMPUTERS)
    after = (await rig.stored(connection, "computers"))[touched]
    assert after.data == before.data and after.updated_at == before.updated_at
    assert after.source_hash != before.source_hash, "the new raw form is remembered"

    normalized.clear()
    await rig.sync(connection)
    assert normalized == []


async def test_a_new_normalizer_version_normalizes_everything_again(
    rig: EngineRig, connection: int, normalized: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await rig.sync(connection)
    monkeypatch.setattr(ComputersStream, "normalizer_version", "2")
    normalized.clear()
    second = await rig.sync(connection)
    assert len(normalized) == COMPUTERS
    assert (second.updated, second.unchanged) == (0, COMPUTERS)
    normalized.clear()
    await rig.sync(connection)
    assert normalized == []


async def test_records_without_a_source_hash_are_normalized_and_get_one(
    rig: EngineRig, connection: int, normalized: list[str]
) -> None:
    await rig.sync(connection)
    async with rig.db.sessions.begin() as session:  # as a webhook's write leaves them
        await session.execute(update(Record).values(source_hash=None))
    normalized.clear()
    second = await rig.sync(connection)
    assert len(normalized) == COMPUTERS and second.unchanged == COMPUTERS
    assert all(row.source_hash for row in (await rig.stored(connection, "computers")).values())


async def test_deletions_are_found_while_the_rest_is_skipped(
    rig: EngineRig, connection: int, servicenow: Harness, normalized: list[str]
) -> None:
    await rig.sync(connection)
    gone = servicenow.fake.rows()[10]["sys_id"]
    servicenow.fake.delete([gone])
    normalized.clear()
    second = await rig.sync(connection)
    assert normalized == []
    assert (second.deleted, second.unchanged) == (1, COMPUTERS - 1)
    assert gone not in await rig.stored(connection, "computers")


async def test_a_failed_run_keeps_the_stored_hashes(
    rig: EngineRig, connection: int, servicenow: Harness, normalized: list[str]
) -> None:
    await rig.sync(connection)
    before = {k: r.source_hash for k, r in (await rig.stored(connection, "computers")).items()}
    servicenow.fake.touch([row["sys_id"] for row in servicenow.fake.rows()])
    servicenow.fake.fail_on_page(3, 500, times=None)
    failed = await rig.sync(connection)
    assert failed.status == "failed"
    after = {k: r.source_hash for k, r in (await rig.stored(connection, "computers")).items()}
    assert after == before
