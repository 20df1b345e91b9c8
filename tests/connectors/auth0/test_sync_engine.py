"""Auth0 through the sync engine: full, incremental, reconcile; a failed run writes nothing."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Database
from tests.connectors.auth0.harness import Harness
from tests.connectors.entra_id.engine import engine
from tests.fakes.auth0_data import make_user, user_id
from tests.sync.helpers import cursors, live, records

ROLE0 = "rol_0000000000000000"


async def test_full_incremental_reconcile_and_failed_run(
    auth0: Harness, db: Database, tmp_path: Path
) -> None:
    auth0.fake.reset(users=10, roles=2, orgs=1, size=3)
    async with engine(db, tmp_path) as run:
        await run.connect("auth0", auth0.config())
        full = await run.sync()
        assert (full.status, full.mode, full.created) == ("success", "full", 13), full.error
        assert full.changed_entities == {"user", "group"}
        auth0.fake.touch_user(user_id(4), blocked=True)
        auth0.fake.data.users[user_id(20)] = make_user(20, auth0.fake.now())
        auth0.fake.data.role_users[ROLE0] = [user_id(0), user_id(20)]
        delta = await run.sync("incremental")
        assert (delta.status, delta.mode, delta.created) == ("success", "incremental", 1)
        stored = await records(db, run.connection_id)
        assert stored[user_id(4)].data["enabled"] is False
        assert stored[ROLE0].data["members"] == ["user00000@example.com", "user00020@example.com"]
        assert stored[ROLE0].data["roles"] == ["Role0"]

        del auth0.fake.data.users[user_id(7)]  # Auth0 lists no deletions: a full run reconciles
        assert user_id(7) in await live(db, run.connection_id)
        reconcile = await run.sync("full")
        assert reconcile.deleted == 1 and user_id(7) not in await live(db, run.connection_id)

        saved = await cursors(db, run.connection_id)
        before = {k: (r.content_hash, r.deleted_at)
                  for k, r in (await records(db, run.connection_id)).items()}  # fmt: skip
        del auth0.fake.data.users[user_id(8)]
        auth0.fake.fail_next(401, times=5)
        failed = await run.sync("full")
        assert failed.status == "failed" and failed.error_code == "needs_reconnect"
        after = {k: (r.content_hash, r.deleted_at)
                 for k, r in (await records(db, run.connection_id)).items()}  # fmt: skip
        assert after == before and await cursors(db, run.connection_id) == saved
