"""Okta: mapping, incremental runs, rate-limit headers, auth methods and failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import RSAKey

from connectors.base.errors import FatalSourceError, SourceAuthError
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, now
from tests.conftest import Database
from tests.connectors.entra_id.engine import engine
from tests.connectors.http_harness import by_id, read_with_fault_after_first_page
from tests.connectors.http_harness import read_through as read
from tests.connectors.okta.harness import Harness
from tests.sync.helpers import live, records

USER = "00u{:017d}".format
GROUP = "00g{:017d}".format


async def test_full_run_includes_deprovisioned_and_suspended_users_disabled(okta: Harness) -> None:
    okta.reset(40)
    users = by_id(await read(okta, "users"))
    assert len(users) == 40
    assert users[USER(19)].enabled is False and users[USER(29)].enabled is False
    user = users[USER(12)]
    assert (user.key, user.username, user.manager) == (
        "user00012@example.com", "user00012@example.com", "user00001@example.com",
    )  # fmt: skip
    assert user.enabled and user.job_title == "Title 5" and user.employee_id == "000012"
    first = okta.fake.requests[0][1]
    assert first["filter"] == 'lastUpdated gt "1970-01-01T00:00:00.000Z"' and first["limit"] == "5"


async def test_groups_carry_member_keys(okta: Harness) -> None:
    okta.fake.reset(users=10, groups=3, group_size=3)
    groups = by_id(await read(okta, "groups"))
    team = groups[GROUP(1)]
    assert (team.group_key, team.name) == ("team 0001", "Team 0001")
    assert team.members == ["user00003@example.com", "user00004@example.com",
                            "user00005@example.com"]  # fmt: skip


async def test_incremental_run_sees_updates_deactivation_creation_and_membership(
    okta: Harness,
) -> None:
    okta.fake.reset(users=10, groups=3, group_size=3)
    users, groups = await read(okta, "users"), await read(okta, "groups")
    okta.fake.touch_user(USER(2), department="Moved")
    okta.fake.touch_user(USER(3), status="DEPROVISIONED")
    from tests.fakes.okta_data import make_user

    okta.fake.data.users[USER(50)] = make_user(50, okta.fake.now())
    okta.fake.set_members(GROUP(0), [USER(0), USER(9)])
    user_delta = by_id(await read(okta, "users", SyncContext(now(), "incremental", users.cursor)))
    group_delta = by_id(
        await read(okta, "groups", SyncContext(now(), "incremental", groups.cursor))
    )
    # the filter is inclusive: user 9, stamped in the cursor's second, is read again
    assert set(user_delta) == {USER(2), USER(3), USER(50), USER(9)}
    assert user_delta[USER(2)].department == "Moved" and user_delta[USER(3)].enabled is False
    assert set(group_delta) == {GROUP(0), GROUP(2)}  # group 2: the cursor's second
    assert group_delta[GROUP(0)].members == ["user00000@example.com", "user00009@example.com"]


async def test_rate_limit_headers_make_the_client_wait_before_a_429(okta: Harness) -> None:
    okta.reset(12)
    okta.fake.window.limit = 2

    class AdvancingSleep(RecordingSleep):
        async def __call__(self, seconds: float) -> None:
            self.waits.append(seconds)
            okta.fake.offset += seconds  # the fake's window resets as the client waited

    sleep = AdvancingSleep()
    try:
        run = await read(okta, "users", sleep=sleep)
    finally:
        okta.fake.offset = 0.0
    assert len(run.ids) == 12 and okta.fake.window.throttled == 0
    assert len(sleep.waits) == 1 and 0 < sleep.waits[0] <= 61


async def test_429_with_retry_after_mid_run_is_waited(okta: Harness) -> None:
    okta.reset(12)
    sleep, seen = await read_with_fault_after_first_page(okta, "users", 429, "6")
    assert sleep.waits == [6] and sorted(seen) == sorted(okta.source_ids())


async def test_invalid_api_token_needs_reconnect_with_okta_error(okta: Harness) -> None:
    okta.reset(3)
    with pytest.raises(SourceAuthError) as caught:
        await read(okta, "users", api_token="00revoked-token")
    assert caught.value.code == "needs_reconnect" and "E0000011" not in caught.value.message
    assert "Invalid token provided" in caught.value.message and "00revoked" not in str(caught.value)


async def test_garbled_field_is_a_clear_error_naming_record_and_field(okta: Harness) -> None:
    okta.reset(3)
    okta.fake.data.users[USER(1)]["lastLogin"] = "last tuesday"
    with pytest.raises(FatalSourceError, match=r"record 00u0+1 does not validate") as caught:
        await read(okta, "users")
    assert "last_sign_in" in caught.value.message and "tuesday" not in caught.value.message


def _service_app(okta: Harness, kid: str = "key-1") -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    okta.fake.keys[kid] = RSAKey.import_key(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return {"api_token": None, "client_id": okta.fake.client_id, "private_key_pem": pem,
            "key_id": kid}  # fmt: skip


async def test_service_app_uses_private_key_jwt_and_scopes(okta: Harness) -> None:
    okta.reset(4)
    app = _service_app(okta)
    assert len((await read(okta, "users", **app)).ids) == 4
    okta.fake.granted = {"okta.users.read"}
    try:
        with pytest.raises(SourceAuthError, match="invalid_scope"):
            await read(okta, "users", **app)
        okta.fake.granted = {"okta.users.read", "okta.groups.read"}
        okta.fake.require_dpop = True
        with pytest.raises(SourceAuthError, match="DPoP"):
            await read(okta, "users", **app)
    finally:
        okta.fake.require_dpop = False
        okta.fake.granted = {"okta.users.read", "okta.groups.read"}
    with pytest.raises(SourceAuthError, match="signature is invalid") as caught:
        await read(okta, "users", **{**_service_app(okta, "other"), "key_id": "unknown"})
    assert "PRIVATE KEY" not in str(caught.value)


async def test_sync_engine_full_incremental_and_reconcile(
    okta: Harness, db: Database, tmp_path: Path
) -> None:
    okta.fake.reset(users=10, groups=2, group_size=3)
    async with engine(db, tmp_path) as run:
        await run.connect("okta", okta.config())
        assert (await run.sync()).created == 12
        okta.fake.touch_user(USER(4), status="SUSPENDED")
        delta = await run.sync()
        assert (delta.mode, delta.updated) == ("incremental", 1), delta.error
        stored = await records(db, run.connection_id)
        assert stored[USER(4)].data["enabled"] is False
        del okta.fake.data.users[USER(7)]  # deleted in Okta: never reported by a listing
        assert USER(7) in await live(db, run.connection_id)
        full = await run.sync("full")
        assert full.deleted == 1 and USER(7) not in await live(db, run.connection_id)
