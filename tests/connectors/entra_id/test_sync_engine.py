"""Entra ID through the sync engine: full, incremental with changes, a failed run writes nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.connectors.entra_id.engine import engine
from tests.connectors.entra_id.harness import Harness
from tests.fakes.graph_data import make_user, object_id
from tests.sync.helpers import cursors, live, records


async def test_full_then_incremental_then_failed_run(
    graph: Harness, db: Database, tmp_path: Path
) -> None:
    graph.fake.reset(users=12, groups=3, devices=2, group_size=2)
    async with engine(db, tmp_path) as run:
        await run.connect("entra_id", graph.config())
        full = await run.sync()
        assert (full.status, full.mode, full.created) == ("success", "full", 17)
        assert full.changed_entities == {"user", "group", "device"}
        saved = await cursors(db, run.connection_id)
        assert set(saved) == {"users", "groups", "devices"}

        directory = graph.fake.directory
        directory.put("users", {**make_user(99), "id": object_id("users", 99)})
        directory.delete("users", object_id("users", 5))
        delta = await run.sync()
        assert (delta.status, delta.mode) == ("success", "incremental"), delta.error
        assert (delta.created, delta.deleted) == (1, 1)
        alive = await live(db, run.connection_id)
        assert object_id("users", 99) in alive and object_id("users", 5) not in alive
        group = (await records(db, run.connection_id))[object_id("groups", 2)]
        assert "user000005@contoso.com" not in group.data["members"]

        cursors_before = await cursors(db, run.connection_id)
        assert cursors_before["users"] != saved["users"]
        before = {
            k: (r.content_hash, r.deleted_at)
            for k, r in (await records(db, run.connection_id)).items()
        }
        directory.delete("users", object_id("users", 6))
        graph.fake.fail_next(401, times=5)
        failed = await run.sync()
        assert failed.status == "failed" and failed.error_code == "needs_reconnect"
        after = {
            k: (r.content_hash, r.deleted_at)
            for k, r in (await records(db, run.connection_id)).items()
        }
        assert after == before
        assert await cursors(db, run.connection_id) == cursors_before
