"""Failures a user sees: refused credentials, a server that goes away, a wrong base."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from connectors.base.errors import ConfigError, SourceAuthError, TransientSourceError
from connectors.base.stream import SyncContext
from connectors.ldap import LdapConnector
from tests.connectors.ldap.reading import read_stream
from tests.connectors.ldap.tree import Tree, build_tree
from tests.rigs.slapd import Slapd

pytestmark = pytest.mark.slapd

WRONG_PASSWORD = "Wr0ng-But-Secret-42"


async def test_wrong_password_is_a_clear_auth_error_without_the_password(
    tree: Tree, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    connector = LdapConnector(tree.config(bind_password=WRONG_PASSWORD))
    with pytest.raises(SourceAuthError) as caught:
        await read_stream(connector, "users")
    await connector.aclose()

    err = caught.value
    assert err.code == "needs_reconnect"
    assert "invalidCredentials (LDAP result 49)" in err.message
    assert tree.server.service_dn in err.message
    rendered = "".join(traceback.format_exception(err))
    assert "invalidCredentials" in rendered  # the ldap3 cause is kept...
    for text in (rendered, repr(err), caplog.text, *capsys.readouterr()):
        assert WRONG_PASSWORD not in text  # ...but the password is nowhere
    assert WRONG_PASSWORD not in repr(connector.client._conn)


async def test_test_connection_reports_refused_credentials(tree: Tree) -> None:
    connector = LdapConnector(tree.config(bind_password=WRONG_PASSWORD))
    result = await connector.test_connection()
    await connector.aclose()
    assert result.ok is False
    assert result.error_code == "needs_reconnect"
    assert WRONG_PASSWORD not in result.message


async def test_test_connection_checks_bind_root_dse_and_each_base(tree: Tree) -> None:
    connector = LdapConnector(tree.config())
    result = await connector.test_connection()
    await connector.aclose()
    assert result.ok is True, result.message
    assert result.checked[0] == f"bind as {tree.server.service_dn}"
    assert result.checked[1] == "root DSE: openldap, paged results on"
    assert [line.split(":")[0] for line in result.checked[2:]] == ["users", "groups", "computers"]
    assert all("at least 1 entry" in line for line in result.checked[2:])


async def test_a_missing_search_base_is_a_config_error(tree: Tree) -> None:
    connector = LdapConnector(tree.config(groups_base=f"ou=Nowhere,{tree.dn}"))
    result = await connector.test_connection()
    with pytest.raises(ConfigError) as caught:
        await read_stream(connector, "groups")
    await connector.aclose()
    assert result.ok is False and result.error_code == "ldap_no_such_base"
    assert caught.value.code == "ldap_no_such_base"
    assert "ou=Nowhere" in caught.value.message


async def test_an_unreachable_server_is_transient(
    tree: Tree, slapd_factory: Callable[[], Slapd]
) -> None:
    gone = slapd_factory()
    gone.stop()
    connector = LdapConnector(tree.config(url=gone.url))
    with pytest.raises(TransientSourceError) as caught:
        await read_stream(connector, "users")
    await connector.aclose()
    assert "unreachable" in caught.value.message


async def test_server_stopped_mid_run_is_transient(slapd_factory: Callable[[], Slapd]) -> None:
    server = slapd_factory()
    tree = build_tree(server, users=30)
    connector = LdapConnector(tree.config(page_size=5))
    stream = next(s for s in connector.get_streams() if s.name == "users")
    pages = stream.pages(SyncContext(started_at=datetime.now(UTC)))
    first = await anext(pages)
    assert len(first.records) == 5
    server.stop()
    with pytest.raises(TransientSourceError):
        async for _ in pages:
            pass
    await connector.aclose()
