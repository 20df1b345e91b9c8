"""Auth0: mapping, export jobs, incremental search, rate limits, auth failures, garbage."""

from __future__ import annotations

import gzip
import time

import httpx
import pytest

from connectors.auth0 import Auth0Connector
from connectors.base.errors import FatalSourceError, SourceAuthError
from connectors.base.registry import parse_config
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, now
from tests.connectors.auth0.harness import Harness
from tests.connectors.http_harness import by_id, read_with_fault_after_first_page
from tests.connectors.http_harness import read_through as read
from tests.fakes.auth0_data import make_user, user_id

ROLE = "rol_{:016d}".format
ORG = "org_{:016d}".format


async def test_full_run_maps_users_and_blocks(auth0: Harness) -> None:
    auth0.reset(12)
    users = by_id(await read(auth0, "users"))
    assert len(users) == 12 and users[user_id(9)].enabled is False
    user = users[user_id(11)]
    assert (user.key, user.username, user.manager) == (
        "user00011@example.com", "user00011", "user00001@example.com",
    )  # fmt: skip
    assert (user.department, user.job_title, user.employee_id) == ("Finance", "Title 4", "E000011")
    assert user.enabled and user.phone == "+15550000011" and user.last_sign_in is not None
    listing = [q for path, q in auth0.fake.requests if path == "/api/v2/users"][1]
    assert listing["search_engine"] == "v3" and listing["per_page"] == "5" and "q" not in listing


async def test_roles_and_organizations_become_groups_with_members(auth0: Harness) -> None:
    auth0.fake.reset(users=8, roles=2, orgs=1, size=3)
    roles, orgs = by_id(await read(auth0, "roles")), by_id(await read(auth0, "organizations"))
    admin = roles[ROLE(1)]
    assert (admin.group_key, admin.name, admin.roles) == ("role1", "Role1", ["Role1"])
    assert admin.members == [f"user{n:05d}@example.com" for n in (3, 4, 5)]
    org = orgs[ORG(0)]
    assert (org.group_key, org.name) == ("tenant-0", "Tenant 0")
    assert org.members == [f"user{n:05d}@example.com" for n in (0, 1, 2)]
    # members were read with checkpoint pagination: take=5, then from=<next>
    member_reads = [q for p, q in auth0.fake.requests if p.endswith("/users")]
    assert all("take" in q for q in member_reads)


async def test_role_with_more_members_than_a_page_is_read_whole(auth0: Harness) -> None:
    auth0.fake.reset(users=12, roles=1, size=12)
    roles = by_id(await read(auth0, "roles"))
    assert len(roles[ROLE(0)].members) == 12
    froms = [q.get("from") for p, q in auth0.fake.requests if p.endswith("/users")]
    assert froms[0] is None and len(froms) == 3 and all(froms[1:])


async def test_tenant_over_1000_users_is_read_through_an_export_job(auth0: Harness) -> None:
    auth0.reset(1003)
    sleep = RecordingSleep()
    run = await read(auth0, "users", sleep=sleep, page_size=100)
    assert len(run.ids) == len(set(run.ids)) == 1003
    assert len(run.records) and run.cursor is not None and len(run.cursors) == 11
    assert all(c is None for c in run.cursors[:-1])
    assert sleep.waits[:2] == [2.0, 3.0]  # first poll, then the job's time_left_seconds
    assert auth0.fake.downloads and "authorization" not in auth0.fake.downloads[0]
    assert by_id(run)[user_id(19)].enabled is False
    paths = [p for p, _ in auth0.fake.requests]
    assert paths.count("/api/v2/jobs/users-exports") == 1 and "/api/v2/users" in paths


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"PK\x03\x04 not gzip at all", "not gzip"),
        (gzip.compress(b'{"user_id": "auth0|1"}\n{oops\n'), "line 2 is not JSON"),
        (gzip.compress(b'{"user_id": "auth0|1"}\n')[:-8], "truncated"),
        (gzip.compress(b'{"email": "a@example.com"}\n'), "source_id"),
    ],
)  # fmt: skip
async def test_broken_export_file_is_a_clear_error(
    auth0: Harness, body: bytes, message: str
) -> None:
    auth0.reset(1001)
    auth0.fake.export_body = body
    with pytest.raises(FatalSourceError, match=message) as caught:
        await read(auth0, "users", page_size=100)
    assert auth0.fake.client_secret not in str(caught.value)


async def test_incremental_run_sees_updates_blocks_and_creations(auth0: Harness) -> None:
    auth0.reset(10)
    full = await read(auth0, "users")
    auth0.fake.touch_user(user_id(2), app_metadata={"department": "Moved"})
    auth0.fake.touch_user(user_id(3), blocked=True)
    auth0.fake.data.users[user_id(50)] = make_user(50, auth0.fake.now())
    delta = by_id(await read(auth0, "users", SyncContext(now(), "incremental", full.cursor)))
    # the newest user of the full run is within the search lag: read again on purpose
    assert set(delta) == {user_id(2), user_id(3), user_id(50), user_id(9)}
    assert delta[user_id(2)].department == "Moved" and delta[user_id(3)].enabled is False
    query = [q for p, q in auth0.fake.requests if p == "/api/v2/users"][-1]["q"]
    assert query.startswith("updated_at:[") and query.endswith(" TO *]")


async def test_429_with_retry_after_mid_run_is_waited(auth0: Harness) -> None:
    auth0.reset(12)
    sleep, seen = await read_with_fault_after_first_page(auth0, "users", 429, "6")
    assert sleep.waits == [6] and sorted(seen) == sorted(auth0.source_ids())


async def test_rate_limit_headers_make_the_client_wait_before_a_429(auth0: Harness) -> None:
    auth0.reset(12)
    auth0.fake.limit = 2
    started = time.time()  # the fake and the client share a clock only the sleep moves,
    auth0.fake.clock = lambda: started  # so a slow machine cannot roll the window over

    class AdvancingSleep(RecordingSleep):
        async def __call__(self, seconds: float) -> None:
            self.waits.append(seconds)
            auth0.fake.offset += seconds

    sleep = AdvancingSleep()
    try:
        run = await read(auth0, "users", sleep=sleep, clock=auth0.fake.now)
    finally:
        auth0.fake.offset, auth0.fake.limit, auth0.fake.clock = 0.0, 50, time.time
    assert len(run.ids) == 12 and auth0.fake.throttled == 0
    assert sleep.waits and all(0 < w <= 2 for w in sleep.waits)


async def test_rotated_client_secret_needs_reconnect(auth0: Harness) -> None:
    auth0.reset(3)
    with pytest.raises(SourceAuthError, match="Unauthorized") as caught:
        await read(auth0, "users", client_secret="an-old-rotated-secret")
    assert caught.value.code == "needs_reconnect" and "rotated" not in str(caught.value)


async def test_expired_token_mid_run_is_replaced_once(auth0: Harness) -> None:
    auth0.reset(12)
    config = parse_config(Auth0Connector, auth0.config())
    async with httpx.AsyncClient(timeout=10) as client:
        connector = Auth0Connector(config, http_client=client, sleep=RecordingSleep())  # type: ignore[arg-type]
        stream = next(s for s in connector.get_streams() if s.name == "users")
        seen = []
        async for page in stream.pages(SyncContext(now())):
            auth0.fake.expire_tokens()
            seen.extend(r.source_id for r in page.records)
    assert (
        sorted(seen) == sorted(auth0.source_ids()) and auth0.fake.token_requests == 3
    )  # one per page


async def test_missing_scope_is_a_clear_auth_error(auth0: Harness) -> None:
    auth0.reset(3)
    auth0.fake.scopes = "read:users"
    try:
        with pytest.raises(
            SourceAuthError, match="Insufficient scope, expected any of: read:roles"
        ):
            await read(auth0, "roles")
    finally:
        auth0.fake.scopes = "read:users read:roles read:organizations read:organization_members"


async def test_user_without_id_or_with_bad_dates_is_a_clear_error(auth0: Harness) -> None:
    auth0.reset(3)
    del auth0.fake.data.users[user_id(1)]["user_id"]
    with pytest.raises(FatalSourceError, match="does not validate") as caught:
        await read(auth0, "users")
    assert "source_id" in caught.value.message
    auth0.reset(3)
    auth0.fake.data.users[user_id(2)]["last_login"] = "yesterday-ish"
    with pytest.raises(FatalSourceError, match="last_sign_in") as caught:
        await read(auth0, "users")
    assert "yesterday" not in caught.value.message
