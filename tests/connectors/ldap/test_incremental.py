"""Incremental runs by modifyTimestamp (1-second resolution) after creates, updates,
deletes and membership changes; deletes are reconciled by full runs."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import ldap3
import pytest

from connectors.ldap import LdapConnector
from tests.connectors.ldap.reading import StreamRun, read_stream
from tests.connectors.ldap.tree import Tree

pytestmark = pytest.mark.slapd


async def _next_second() -> None:
    """Wait (under a second) until the clock enters a new second."""
    await asyncio.sleep(1.0 - time.time() % 1.0 + 0.01)


async def _incremental(tree: Tree, name: str, cursor: dict[str, Any] | None) -> StreamRun:
    connector = LdapConnector(tree.config())
    try:
        return await read_stream(connector, name, mode="incremental", cursor=cursor)
    finally:
        await connector.aclose()


async def _full(tree: Tree, name: str) -> StreamRun:
    connector = LdapConnector(tree.config())
    try:
        return await read_stream(connector, name)
    finally:
        await connector.aclose()


async def test_incremental_reads_only_changed_users(tree: Tree) -> None:
    await _next_second()  # the tree's second is behind the full run's cursor
    users_cursor = (await _full(tree, "users")).cursor
    groups_cursor = (await _full(tree, "groups")).cursor
    assert users_cursor is not None and groups_cursor is not None
    conn = tree.admin()
    tree.add_user(conn, "u50")
    conn.modify(tree.users["u01"], {"title": [(ldap3.MODIFY_REPLACE, ["Principal Engineer"])]})
    conn.unbind()

    users = await _incremental(tree, "users", users_cursor)
    groups = await _incremental(tree, "groups", groups_cursor)

    assert sorted(r.key for r in users.records) == ["u01@example.com", "u50@example.com"]
    assert users.by_key()["u01@example.com"].job_title == "Principal Engineer"
    assert users.cursor is not None and users.cursor["value"] >= users_cursor["value"]
    assert groups.records == []
    assert groups.cursor is not None and groups.cursor["value"] >= groups_cursor["value"]


async def test_membership_change_and_delete_reach_users_and_groups(tree: Tree) -> None:
    await _next_second()
    users_cursor = (await _full(tree, "users")).cursor
    groups_cursor = (await _full(tree, "groups")).cursor
    conn = tree.admin()
    conn.modify(tree.groups["SRE"], {"member": [(ldap3.MODIFY_ADD, [tree.users["u07"]])]})
    conn.modify(tree.groups["Platform"], {"member": [(ldap3.MODIFY_DELETE, [tree.users["u02"]])]})
    conn.delete(tree.users["u06"])  # refint drops it from All Staff
    conn.unbind()

    users = (await _incremental(tree, "users", users_cursor)).by_key()
    groups = (await _incremental(tree, "groups", groups_cursor)).by_key()

    assert users["u07@example.com"].groups == ["all staff", "engineering", "platform", "sre"]
    assert users["u02@example.com"].groups == ["all staff"]  # removal reached the user
    assert "u06@example.com" not in users
    # refint drops u06 from All Staff without touching its modifyTimestamp, and
    # OpenLDAP keeps no tombstones: deletes are for the next full run to reconcile.
    assert set(groups) == {"sre", "platform"}
    assert groups["sre"].members == ["u03@example.com", "u07@example.com"]
    assert groups["platform"].members == []

    full_ids = {r.source_id for r in (await _full(tree, "users")).records}
    assert tree.guids["u06"] not in full_ids  # the engine marks it deleted after this run
    assert tree.guids["u07"] in full_ids
    all_staff = (await _full(tree, "groups")).by_key()["all staff"]
    assert "u06@example.com" not in all_staff.members
    assert len(all_staff.members) == 7


async def test_changes_in_the_cursor_second_are_read_again_not_lost(tree: Tree) -> None:
    first = await _full(tree, "users")
    conn = tree.admin()  # same second as the tree (most likely) or the next one
    conn.modify(tree.users["u03"], {"title": [(ldap3.MODIFY_REPLACE, ["Changed"])]})
    conn.unbind()

    again = await _incremental(tree, "users", first.cursor)

    ids = [r.source_id for r in again.records]
    assert len(ids) == len(set(ids))  # no duplicates within a run
    assert again.by_key()["u03@example.com"].job_title == "Changed"


async def test_incremental_without_a_cursor_reads_everything(tree: Tree) -> None:
    run = await _incremental(tree, "computers", None)
    assert len(run.records) == 3
