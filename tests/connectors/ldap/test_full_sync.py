"""A full run against the real slapd: users, groups and computers mapped as policies read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from connectors.ldap import LdapConnector
from tests.connectors.ldap.reading import read_stream
from tests.connectors.ldap.tree import DOMAIN_SID, LAST_LOGON, Tree

pytestmark = pytest.mark.slapd


async def test_users_are_mapped_with_manager_groups_and_flags(tree: Tree) -> None:
    connector = LdapConnector(tree.config())
    users = (await read_stream(connector, "users")).by_key()
    await connector.aclose()

    assert len(users) == 8
    cto = users["u00@example.com"]
    assert cto.source_id == tree.guids["u00"]
    assert (cto.username, cto.upn, cto.job_title) == ("u00", "u00@corp.example.com", "CTO")
    assert (cto.given_name, cto.family_name, cto.department) == (
        "Given00",
        "Surname00",
        "Engineering",
    )
    assert cto.display_name == "Given00 Surname00"
    assert cto.last_sign_in == LAST_LOGON
    assert (cto.employee_id, cto.phone) == ("E00000", "+49 30 0000")
    assert users["u01@example.com"].manager == "u00@example.com"
    assert cto.manager is None
    assert users["u02@example.com"].enabled is False
    assert users["u01@example.com"].enabled is True
    assert "u04@corp.example.com" in users  # no mail: keyed by UPN


async def test_three_level_nesting_and_cycles_are_resolved(tree: Tree) -> None:
    connector = LdapConnector(tree.config())
    users = (await read_stream(connector, "users")).by_key()
    groups = (await read_stream(connector, "groups")).by_key()
    await connector.aclose()

    assert users["u03@example.com"].groups == ["all staff", "engineering", "platform", "sre"]
    assert users["u02@example.com"].groups == ["all staff", "engineering", "platform"]
    assert users["u06@example.com"].groups == ["all staff"]
    assert users["u05@example.com"].groups == ["all staff", "cycle a", "cycle b"]
    assert groups["engineering"].members == ["u00@example.com", "u01@example.com"]
    assert groups["engineering"].member_groups == ["platform"]
    assert groups["platform"].member_groups == ["sre"]
    assert groups["sre"].members == ["u03@example.com"]
    assert groups["cycle a"].member_groups == ["cycle b"]
    assert groups["cycle b"].member_groups == ["cycle a"]
    assert len(groups["all staff"].members) == 8
    assert groups["sre"].source_id == tree.guids["SRE"]


async def test_computers_become_devices_with_os_ou_and_last_logon(tree: Tree) -> None:
    connector = LdapConnector(tree.config())
    devices = (await read_stream(connector, "computers")).by_key()
    await connector.aclose()

    assert set(devices) == {
        "host:lt-0001.corp.example.com",
        "host:lt-0002",
        "host:srv-db1.corp.example.com",
    }
    laptop = devices["host:lt-0001.corp.example.com"]
    assert (laptop.os, laptop.os_version) == ("Windows 11 Enterprise", "10.0 (22631)")
    assert laptop.extra["ou"] == f"{tree.ou_name}/Computers/Berlin/Laptops"
    assert laptop.extra["object_sid"].startswith(DOMAIN_SID + "-")
    assert laptop.last_seen == LAST_LOGON
    assert laptop.status == "active"
    assert laptop.source_id == tree.guids["LT-0001"]
    assert devices["host:lt-0002"].status == "inactive"
    assert devices["host:lt-0002"].last_seen is None
    assert devices["host:srv-db1.corp.example.com"].device_type == "server"
    assert (
        devices["host:srv-db1.corp.example.com"].extra["ou"] == f"{tree.ou_name}/Computers/Servers"
    )


async def test_full_run_cursor_never_passes_the_run_start(tree: Tree) -> None:
    connector = LdapConnector(tree.config(cursor_overlap_seconds=3600))
    started = datetime.now(UTC)
    run = await read_stream(connector, "users", started_at=started)
    await connector.aclose()

    assert run.cursor is not None and run.cursor["attribute"] == "modifyTimestamp"
    assert run.cursor["value"] == (started - timedelta(hours=1)).strftime("%Y%m%d%H%M%SZ")
    assert [page.cursor for page in run.pages[:-1]] == [None] * (len(run.pages) - 1)
