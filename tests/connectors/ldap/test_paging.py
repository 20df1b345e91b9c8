"""Paged results (RFC 2696) against slapd's size limits."""

from __future__ import annotations

import ldap3
import pytest

from connectors.base.errors import ConfigError
from connectors.ldap import LdapConnector
from tests.connectors.ldap.reading import read_stream
from tests.connectors.ldap.tree import Tree, build_tree
from tests.rigs.slapd import SIZE_LIMIT, Slapd

pytestmark = pytest.mark.slapd


@pytest.fixture(scope="module")
def big_tree(slapd: Slapd) -> Tree:
    """40 users, read (never changed) by every test of this module."""
    return build_tree(slapd, users=40)


def test_an_unpaged_search_is_cut_at_the_size_limit(big_tree: Tree) -> None:
    server = big_tree.server
    conn = ldap3.Connection(
        ldap3.Server("127.0.0.1", port=server.port, get_info=ldap3.NONE),
        server.service_dn,
        server.service_password,
        auto_bind=True,
    )
    conn.search(big_tree.people, "(objectClass=user)", attributes=["cn"])
    assert conn.result["description"] == "sizeLimitExceeded"
    assert len(conn.entries) == SIZE_LIMIT < 40
    conn.unbind()


async def test_page_size_7_reads_all_40_users_exactly_once(big_tree: Tree) -> None:
    connector = LdapConnector(big_tree.config(page_size=7))
    run = await read_stream(connector, "users")
    await connector.aclose()

    ids = [record.source_id for record in run.records]
    assert len(ids) == 40
    assert sorted(ids) == sorted(big_tree.guids[name] for name in big_tree.users)
    assert [len(page.records) for page in run.pages] == [7, 7, 7, 7, 7, 5]


async def test_group_members_are_complete_across_pages(big_tree: Tree) -> None:
    connector = LdapConnector(big_tree.config(page_size=3))
    groups = (await read_stream(connector, "groups")).by_key()
    await connector.aclose()

    assert len(groups["all staff"].members) == 40
    assert "u04@corp.example.com" in groups["all staff"].members


async def test_a_page_size_above_the_server_limit_is_a_config_error(tree: Tree) -> None:
    connector = LdapConnector(tree.config(page_size=5000))
    with pytest.raises(ConfigError) as caught:
        await read_stream(connector, "users")
    await connector.aclose()
    assert caught.value.code == "ldap_page_size"
    assert "lower page_size" in caught.value.message
