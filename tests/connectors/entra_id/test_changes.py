"""Entra ID incremental runs (delta links) and failures: throttling, tokens, garbage."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connectors.base.errors import FatalSourceError, SourceAuthError
from connectors.base.stream import SyncContext
from connectors.base.testing import RecordingSleep, now
from connectors.graph.certificates import b64url
from tests.connectors.entra_id.harness import Harness
from tests.connectors.entra_id.reading import by_id, read, read_with
from tests.fakes.graph_data import make_user, object_id


async def test_incremental_run_sees_created_updated_deleted_users_and_membership(
    graph: Harness,
) -> None:
    graph.fake.reset(users=20, groups=4, devices=0, group_size=3)
    users, groups = await read(graph, "users"), await read(graph, "groups")
    directory = graph.fake.directory
    created = {**make_user(500), "id": object_id("users", 500)}
    directory.put("users", created)
    directory.objects["users"][object_id("users", 4)]["department"] = "Moved"
    directory.touch("users", [object_id("users", 4)])
    directory.delete("users", object_id("users", 9))
    group = directory.objects["groups"][object_id("groups", 2)]
    group["_members"].append(object_id("users", 15))
    directory.touch("groups", [group["id"]])

    user_delta = await read(graph, "users", SyncContext(now(), "incremental", users.cursor))
    group_delta = await read(graph, "groups", SyncContext(now(), "incremental", groups.cursor))

    changed = by_id(user_delta.records)
    assert set(changed) == {object_id("users", 500), object_id("users", 4)}
    assert changed[object_id("users", 4)].department == "Moved"
    assert user_delta.removed == [object_id("users", 9)]
    regrouped = by_id(group_delta.records)
    assert set(regrouped) == {object_id("groups", 2), object_id("groups", 3)}  # 3 held user 9
    assert "user000015@contoso.com" in regrouped[object_id("groups", 2)].members
    assert "user000009@contoso.com" not in regrouped[object_id("groups", 3)].members
    quiet = await read(graph, "users", SyncContext(now(), "incremental", user_delta.cursor))
    assert quiet.records == [] and quiet.removed == []


async def test_expired_delta_link_falls_back_to_a_full_listing(graph: Harness) -> None:
    graph.reset(6)
    full = await read(graph, "users")
    assert full.cursor is not None
    stale = {**full.cursor, "issued_at": "2020-01-01T00:00:00+00:00"}
    again = await read(graph, "users", SyncContext(now(), "incremental", stale))
    assert len(again.ids) == 6


async def test_throttled_mid_run_waits_retry_after_then_finishes(graph: Harness) -> None:
    graph.reset(12)
    sleep = RecordingSleep()
    seen = await read_with(
        graph, "users", lambda: graph.fake.fail_next(429, retry_after="4"), sleep
    )
    assert sleep.waits == [4]
    assert sorted(seen) == sorted(graph.source_ids())


async def test_access_token_expiring_mid_run_is_renewed_once(graph: Harness) -> None:
    graph.reset(12)
    before = graph.fake.identity.requests
    seen = await read_with(graph, "users", graph.fake.expire_tokens, RecordingSleep())
    assert sorted(seen) == sorted(graph.source_ids())
    assert graph.fake.identity.requests == before + 2


async def test_rotated_secret_needs_reconnect_without_leaking_it(graph: Harness) -> None:
    graph.reset(3)
    configured = graph.config()["client_secret"]
    graph.fake.identity.client_secret = "rotated-in-portal"
    try:
        with pytest.raises(SourceAuthError) as caught:
            await read(graph, "users", client_secret=configured)
    finally:
        graph.fake.identity.client_secret = configured
    assert caught.value.code == "needs_reconnect"
    assert "AADSTS7000215" in caught.value.message and configured not in str(caught.value)


def _certificate() -> tuple[str, str, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pip-test")])
    import datetime as dt

    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(dt.datetime(2025, 1, 1)).not_valid_after(dt.datetime(2035, 1, 1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem, cert


async def test_certificate_credential_signs_a_client_assertion(graph: Harness) -> None:
    graph.reset(4)
    cert_pem, key_pem, cert = _certificate()
    public = cert.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    graph.fake.identity.register_certificate(b64url(cert.fingerprint(hashes.SHA1())), public)
    overrides = {"client_secret": None, "certificate_pem": cert_pem, "private_key_pem": key_pem}
    assert len((await read(graph, "users", **overrides)).ids) == 4
    other_cert, other_key, _ = _certificate()
    with pytest.raises(SourceAuthError, match="AADSTS700027") as caught:
        await read(graph, "users", client_secret=None, certificate_pem=other_cert,
                   private_key_pem=other_key)  # fmt: skip
    assert "PRIVATE KEY" not in str(caught.value)


async def test_object_without_id_is_a_clear_error(graph: Harness) -> None:
    graph.reset(3)
    del graph.fake.directory.objects["users"][object_id("users", 1)]["userPrincipalName"]
    graph.fake.directory.objects["users"][object_id("users", 1)]["accountEnabled"] = "maybe"
    with pytest.raises(FatalSourceError, match=r"users: record .* does not validate") as caught:
        await read(graph, "users")
    assert "enabled" in caught.value.message


async def test_missing_permission_is_named_by_test_connection(graph: Harness) -> None:
    graph.reset(2)
    graph.fake.permissions.discard("Device.Read.All")
    async with graph.connect() as connector:
        result = await connector.test_connection()
    assert not result.ok and result.missing == ["Device.Read.All"]
