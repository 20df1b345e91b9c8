"""Google Workspace: mapping, nested groups, rate-limit 403s, delegation failures, garbage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from connectors.base.errors import FatalSourceError, SourceAuthError
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, StreamRun, now
from connectors.google_workspace import GoogleWorkspaceConnector
from tests.conftest import Database
from tests.connectors.entra_id.engine import engine
from tests.connectors.google_workspace.harness import Harness, service_account_key
from tests.connectors.http_harness import by_id, read_through, read_with_fault_after_first_page
from tests.fakes.google_workspace import make_user, user_id
from tests.sync.helpers import live, records


async def read(google: Harness, stream: str = "users", sleep: Any = None,
               **overrides: Any) -> StreamRun:  # fmt: skip
    return await read_through(google, stream, sleep=sleep, **overrides)


async def test_full_run_maps_users(google: Harness) -> None:
    google.reset(12)
    users = by_id(await read(google))
    assert len(users) == 12 and users[user_id(9)].enabled is False
    user = users[user_id(11)]
    assert (user.key, user.display_name, user.manager) == (
        "user00011@example.com", "First11 Last11", "user00001@example.com",
    )  # fmt: skip
    assert (user.department, user.job_title, user.employee_id) == ("Finance", "Title 4", "E000011")
    assert user.phone == "+1 555 0000011" and user.last_sign_in is None  # never signed in
    assert users[user_id(0)].roles == ["workspace_super_admin"] and users[user_id(1)].roles == []
    first = google.fake.requests[0][1]
    assert (first["customer"], first["maxResults"]) == ("my_customer", "5")


async def test_groups_split_user_members_from_nested_groups(google: Harness) -> None:
    google.fake.reset(users=6, groups=3, size=2)
    groups = {g.key: g for g in (await read(google, "groups")).records}
    team = groups["team-1@example.com"]
    assert team.name == "Team 1" and team.members == [
        "user00002@example.com",
        "user00003@example.com",
    ]
    assert (
        team.member_groups == ["team-0@example.com"]
        and groups["team-0@example.com"].member_groups == []
    )


async def test_group_with_more_members_than_a_page_is_read_whole(google: Harness) -> None:
    google.fake.reset(users=12, groups=1, size=12)
    (group,) = (await read(google, "groups")).records
    assert len(group.members) == 12  # type: ignore[attr-defined]
    tokens = [q.get("pageToken") for p, q in google.fake.requests if p.endswith("/members")]
    assert tokens[0] is None and len(tokens) == 3 and all(tokens[1:])


@pytest.mark.parametrize("reason", ["userRateLimitExceeded", "quotaExceeded", "rateLimitExceeded"])
async def test_rate_limit_403_mid_run_is_retried_with_backoff(google: Harness, reason: str) -> None:
    google.reset(12)
    sleep = RecordingSleep()
    config = parse_config(GoogleWorkspaceConnector, google.config())
    seen: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        connector = GoogleWorkspaceConnector(config, http_client=client, sleep=sleep)  # type: ignore[arg-type]
        stream = next(s for s in connector.get_streams() if s.name == "users")
        async for page in stream.pages(SyncContext(now())):
            if not seen:
                google.fake.fail_next(403, times=2, reason=reason)
            seen.extend(r.source_id for r in page.records)
    assert sorted(seen) == sorted(google.source_ids())
    assert len(sleep.waits) == 2 and 0 < sleep.waits[0] < sleep.waits[1] + 1.5


async def test_429_with_retry_after_mid_run_is_waited(google: Harness) -> None:
    google.reset(12)
    sleep, seen = await read_with_fault_after_first_page(google, "users", 429, "6")
    assert sleep.waits == [6] and sorted(seen) == sorted(google.source_ids())


async def test_plain_403_still_needs_reconnect(google: Harness) -> None:
    google.reset(3)
    google.fake.fail_next(403, times=3)
    with pytest.raises(SourceAuthError, match="Not Authorized to access this resource/api"):
        await read(google)


async def test_deleted_key_or_missing_delegation_needs_reconnect(google: Harness) -> None:
    google.reset(3)
    orphan = service_account_key(google.fake, google.server.url, "deleted-key")
    del google.fake.keys["deleted-key"]  # the key was deleted in the Cloud console
    with pytest.raises(SourceAuthError, match="Invalid JWT Signature") as caught:
        await read(google, service_account_key=orphan)
    assert "PRIVATE KEY" not in str(caught.value) and caught.value.code == "needs_reconnect"
    with pytest.raises(SourceAuthError, match="Invalid email or User ID"):
        await read(google, admin_email="someone-else@example.com")
    google.fake.delegated = set()
    try:
        with pytest.raises(SourceAuthError, match="unauthorized_client"):
            await read(google)
    finally:
        google.fake.delegated = {f"https://www.googleapis.com/auth/admin.directory.{s}.readonly"
                                 for s in ("user", "group", "group.member")}  # fmt: skip


async def test_expired_access_token_mid_run_is_replaced(google: Harness) -> None:
    google.reset(12)
    config = parse_config(GoogleWorkspaceConnector, google.config())
    seen: list[str] = []
    async with httpx.AsyncClient(timeout=10) as client:
        connector = GoogleWorkspaceConnector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        stream = next(s for s in connector.get_streams() if s.name == "users")
        async for page in stream.pages(SyncContext(now())):
            google.fake.expire_tokens()
            seen.extend(r.source_id for r in page.records)
    assert sorted(seen) == sorted(google.source_ids()) and google.fake.token_requests == 3


async def test_missing_fields_are_clear_errors(google: Harness) -> None:
    google.reset(3)
    del google.fake.directory.users[user_id(1)]["id"]
    with pytest.raises(FatalSourceError, match="does not validate") as caught:
        await read(google)
    assert "source_id" in caught.value.message
    google.reset(3)
    google.fake.directory.users[user_id(2)]["lastLoginTime"] = "sometime"
    with pytest.raises(FatalSourceError, match="last_sign_in") as caught:
        await read(google)
    assert "sometime" not in caught.value.message


async def test_sync_engine_full_runs_reconcile_changes(
    google: Harness, db: Database, tmp_path: Path
) -> None:
    google.fake.reset(users=8, groups=2, size=2)
    async with engine(db, tmp_path) as run:
        await run.connect("google_workspace", google.config())
        full = await run.sync()
        assert (full.status, full.mode, full.created) == ("success", "full", 10), full.error
        directory = google.fake.directory
        directory.users[user_id(3)]["suspended"] = True
        directory.users[user_id(30)] = make_user(30, 1.7e9)
        del directory.users[user_id(5)]
        group0 = next(iter(directory.members))
        directory.members[group0] = [{"email": "user00030@example.com", "type": "USER"}]
        again = await run.sync()
        assert again.mode == "full", "the Directory API has no change filter"
        assert (again.status, again.created, again.deleted) == ("success", 1, 1), again.error
        stored = await records(db, run.connection_id)
        assert stored[user_id(3)].data["enabled"] is False
        assert stored[group0].data["members"] == ["user00030@example.com"]
        assert user_id(5) not in await live(db, run.connection_id)
        before = {k: (r.content_hash, r.deleted_at) for k, r in stored.items()}
        del directory.users[user_id(6)]
        google.fake.fail_next(401, times=5)
        failed = await run.sync()
        assert failed.status == "failed" and failed.error_code == "needs_reconnect"
        after = {k: (r.content_hash, r.deleted_at)
                 for k, r in (await records(db, run.connection_id)).items()}  # fmt: skip
        assert after == before
