"""The contract-suite harness of the LDAP connector, on a real slapd of its own.

LDAP is not HTTP: there are no status codes, ``Retry-After`` or JSON bodies to fake,
so ``http_faults = False`` and those contract tests are skipped. Their LDAP
equivalents (refused bind → SourceAuthError, server gone → TransientSourceError,
untrusted certificate, missing base, oversize page) are in this folder's tests.

``modifyTimestamp`` is set by the server and cannot be written, so ``change(at=...)``
changes the entry now: the contract uses a future ``at`` to mean "after the run
started", which a change made now is.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

import ldap3

from connectors.base.connector import Connector
from connectors.base.testing import ConnectorHarness
from connectors.ldap import LdapConnector
from connectors.ldap.decode import format_generalized_time, parse_generalized_time
from tests.connectors.ldap.tree import Tree
from tests.rigs.slapd import Slapd, remove_slapd, start_slapd


class Harness(ConnectorHarness):
    """Drives the users stream of an LdapConnector against a private slapd."""

    connector_class: ClassVar[type[Connector[Any]]] = LdapConnector
    stream: ClassVar[str] = "users"
    http_faults: ClassVar[bool] = False

    def __init__(self) -> None:
        self.server: Slapd | None = None
        self.tree: Tree | None = None

    def start(self) -> None:
        """Start slapd (well under a second)."""
        self.server = start_slapd()

    def stop(self) -> None:
        """Stop slapd and remove its files."""
        if self.server is not None:
            remove_slapd(self.server)

    def reset(self, records: int) -> None:
        """A fresh OU holding ``records`` users (and empty groups/computers OUs)."""
        assert self.server is not None
        tree = Tree(self.server, f"ou=c{uuid.uuid4().hex[:10]},{self.server.base_dn}")
        conn = tree.admin()
        for dn in (tree.dn, tree.people, tree.groups_ou, tree.computers_ou):
            conn.add(dn, ["organizationalUnit"])
        for number in range(records):
            tree.add_user(conn, f"u{number:02d}")
        conn.unbind()
        self.tree = tree

    def config(self) -> dict[str, Any]:
        """Raw config reading the current tree, ``page_size`` users per page."""
        assert self.server is not None
        tree = self.tree or Tree(self.server, self.server.base_dn)
        raw = tree.config(page_size=self.page_size).model_dump(mode="json")
        raw["bind_password"] = tree.server.service_password
        return {key: value for key, value in raw.items() if value is not None}

    def invalid_configs(self) -> list[tuple[dict[str, Any], str]]:
        """Missing required fields, a bad URL and a bad filter."""
        valid = self.config()
        return [
            *super().invalid_configs(),
            ({**valid, "url": "https://example.com"}, "url"),
            ({**valid, "users_filter": "(objectClass=user"}, "users_filter"),
        ]

    def source_ids(self) -> set[str]:
        """objectGUIDs of the users now in the tree."""
        tree = self._tree()
        return {tree.guids[name] for name in tree.users}

    def change(self, count: int, *, at: datetime | None = None) -> set[str]:
        """Change the title of ``count`` users now; their ids."""
        tree = self._tree()
        names = sorted(tree.users)[:count]
        conn = tree.admin()
        for name in names:
            conn.modify(tree.users[name], {"title": [(ldap3.MODIFY_REPLACE, [uuid.uuid4().hex])]})
        conn.unbind()
        return {tree.guids[name] for name in names}

    def cursor_time(self, cursor: dict[str, Any]) -> datetime:
        """The moment a modifyTimestamp cursor stands for."""
        return parse_generalized_time(cursor["value"])

    def boundary_ids(self, cursor: dict[str, Any]) -> set[str]:
        """Users stamped in the cursor's second (or later): ``>=`` reads them again."""
        tree = self._tree()
        value = format_generalized_time(self.cursor_time(cursor))
        conn = tree.admin()
        conn.search(tree.people, f"(modifyTimestamp>={value})", attributes=["1.1"])
        dns = {entry.entry_dn.lower() for entry in conn.entries}
        conn.unbind()
        return {tree.guids[name] for name, dn in tree.users.items() if dn.lower() in dns}

    def _tree(self) -> Tree:
        assert self.tree is not None, "reset() first"
        return self.tree
