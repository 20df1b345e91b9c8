"""Webhook events patch the identity documents entity by entity: the result is a full build's."""

from __future__ import annotations

import gzip
from typing import Any

import orjson

from opal.patches import apply_patch, changes_patch
from pip_service.documents.builder import DocumentBuilder
from pip_service.documents.catalog import get_spec
from pip_service.documents.models import DocumentSnapshot
from pip_service.documents.rebuild import INCREMENTAL
from pip_service.documents.sensitivity import SensitivityMap
from pip_service.documents.serialize import encode
from pip_service.documents.sources import load_sources, registry_lookup
from tests.fakes.okta import make_user
from tests.webhooks.conftest import HOOK_SECRET, Setup
from tests.webhooks.okta_events import delivery, group_target, okta_event, user_target

IDENTITY = ("identity/users", "identity/groups")


async def send(setup: Setup, kind: str, target: dict[str, str]) -> None:
    """Deliver one Okta event and wait until it is applied."""
    body = delivery(okta_event(kind, [target]))
    answer = await setup.http.post(
        f"/webhooks/{setup.connection_id}",
        content=orjson.dumps(body),
        headers={"Authorization": HOOK_SECRET, "Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    await setup.runtime.webhooks.wait_idle()


async def full_build(setup: Setup, name: str) -> bytes:
    """The JSON a full build from the current records gives."""
    runtime = setup.runtime
    async with runtime.sessions() as session:
        sources = await load_sources(
            session, lookup=registry_lookup, precedence=runtime.settings.source_precedence
        )
        builder = DocumentBuilder(
            session,
            sources=sources,
            sensitivities=SensitivityMap(registry_lookup),
            settings=runtime.settings,
        )
        built = await builder.build(get_spec(name))
    return encode(built.body).json


async def served(setup: Setup) -> dict[str, tuple[int, str, bytes]]:
    """Revision, ETag and JSON of each identity document as ``/opal/pip-data`` serves it."""
    found = {}
    for name in IDENTITY:
        document = await setup.runtime.documents.get(name)
        found[name] = (document.revision, document.etag, gzip.decompress(document.body_gz))
    return found


async def inputs_hash(setup: Setup, name: str) -> str:
    """The inputs hash stored with a document."""
    async with setup.runtime.sessions() as session:
        row = await session.get(DocumentSnapshot, name)
        assert row is not None
        return row.inputs_hash


async def check(setup: Setup, before: dict[str, tuple[int, str, bytes]]) -> Any:
    """Served bodies equal a full build; revisions move only with the ETag; deltas replay."""
    after = await served(setup)
    for name in IDENTITY:
        old_revision, old_etag, old_json = before[name]
        revision, etag, body = after[name]
        assert body == await full_build(setup, name), name
        assert etag == encode(orjson.loads(body)).etag
        assert revision == old_revision + (etag != old_etag)
        changes = setup.runtime.documents.deltas.between(name, old_etag, etag)
        if changes is not None:
            patched = apply_patch(orjson.loads(old_json), changes_patch(changes))
            assert patched == orjson.loads(body)
    return after


async def test_user_and_group_events_give_the_full_build(setup: Setup) -> None:
    okta, runtime = setup.okta, setup.runtime
    await runtime.rebuild_documents(["user", "group"])  # a full build leaves the state behind
    before = await served(setup)

    user = make_user(10, okta.now())  # created
    okta.data.users[user["id"]] = user
    await send(setup, "user.lifecycle.create", user_target(user["id"]))
    before = await check(setup, before)
    assert await inputs_hash(setup, "identity/users") == INCREMENTAL
    assert orjson.loads(before["identity/users"][2])["user00010@example.com"]

    uid = "00u00000000000000002"  # deactivated
    okta.touch_user(uid, status="DEPROVISIONED")
    await send(setup, "user.lifecycle.deactivate", user_target(uid))
    before = await check(setup, before)
    assert orjson.loads(before["identity/users"][2])["user00002@example.com"]["enabled"] is False

    gid = "00g00000000000000001"  # membership change (a group event: a full build)
    okta.set_members(gid, [*okta.data.members[gid], user["id"]])
    await send(setup, "group.user_membership.add", group_target(gid))
    before = await check(setup, before)
    groups = orjson.loads(before["identity/users"][2])["user00010@example.com"]["groups"]
    assert groups == ["team 0001"]

    okta.touch_user(user["id"], title="Newcomer")  # a user event after it: entity-level again
    await send(setup, "user.profile.update", user_target(user["id"]))
    await check(setup, before)
    assert await inputs_hash(setup, "identity/users") == INCREMENTAL
