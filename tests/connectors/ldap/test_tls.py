"""LDAPS and StartTLS with a CA generated for the test: untrusted unless configured."""

from __future__ import annotations

import logging

import pytest

from connectors.base.errors import FatalSourceError
from connectors.ldap import LdapConnector
from tests.connectors.ldap.reading import read_stream
from tests.connectors.ldap.tree import Tree

pytestmark = pytest.mark.slapd


async def _users(connector: LdapConnector) -> int:
    try:
        return len((await read_stream(connector, "users")).records)
    finally:
        await connector.aclose()


async def test_ldaps_is_rejected_without_the_ca(tree: Tree) -> None:
    connector = LdapConnector(tree.config(url=tree.server.ldaps_url))
    with pytest.raises(FatalSourceError) as caught:
        await _users(connector)
    assert caught.value.code == "ldap_tls_untrusted"
    assert "was not trusted" in caught.value.message
    assert "ca_cert_pem" in caught.value.message


async def test_ldaps_is_accepted_with_the_ca_pem(tree: Tree) -> None:
    config = tree.config(url=tree.server.ldaps_url, ca_cert_pem=tree.server.tls.ca_pem)
    assert await _users(LdapConnector(config)) == 8


async def test_ldaps_by_host_name_with_a_ca_file(tree: Tree) -> None:
    url = f"ldaps://localhost:{tree.server.ldaps_port}"
    config = tree.config(url=url, ca_cert_file=str(tree.server.tls.ca_file))
    assert await _users(LdapConnector(config)) == 8


async def test_start_tls_is_rejected_without_the_ca_and_accepted_with_it(tree: Tree) -> None:
    with pytest.raises(FatalSourceError) as caught:
        await _users(LdapConnector(tree.config(start_tls=True)))
    assert caught.value.code == "ldap_tls_untrusted"

    config = tree.config(start_tls=True, ca_cert_pem=tree.server.tls.ca_pem)
    assert await _users(LdapConnector(config)) == 8


async def test_turning_verification_off_works_and_is_logged(
    tree: Tree, caplog: pytest.LogCaptureFixture
) -> None:
    config = tree.config(url=tree.server.ldaps_url, verify_tls=False)
    assert await _users(LdapConnector(config)) == 8
    assert any(
        r.levelno == logging.WARNING and "verification is off" in r.getMessage()
        for r in caplog.records
    )
