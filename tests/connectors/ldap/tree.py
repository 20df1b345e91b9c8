"""An AD-like directory tree for one test, under its own OU of the shared slapd.

People: ``u00``..``uNN`` (``u00`` manages everyone else; ``u02`` is disabled;
``u04`` has no mail, so its key is its UPN). Groups: ``Engineering`` ⊃ ``Platform``
⊃ ``SRE`` (three levels), ``All Staff`` (every user), ``Cycle A`` ⇄ ``Cycle B``.
Computers under ``OU=Laptops,OU=Berlin`` and ``OU=Servers``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import ldap3

from connectors.ldap.config import LdapConfig
from connectors.ldap.decode import datetime_to_filetime, sid_to_bytes
from tests.rigs.slapd import Slapd

DOMAIN_SID = "S-1-5-21-1004336348-1177238915-682003330"
LAST_LOGON = datetime(2026, 11, 20, 8, 30, 15, tzinfo=UTC)
NESTING = {"Engineering": ["Platform"], "Platform": ["SRE"], "Cycle A": ["Cycle B"]}
DIRECT = {"Engineering": ["u00", "u01"], "Platform": ["u02"], "SRE": ["u03"]}


@dataclass
class Tree:
    """DNs and ids of one test's entries."""

    server: Slapd = field(repr=False)
    dn: str
    users: dict[str, str] = field(default_factory=dict, repr=False)  # sAMAccountName -> DN
    guids: dict[str, str] = field(default_factory=dict, repr=False)  # name -> objectGUID
    groups: dict[str, str] = field(default_factory=dict, repr=False)  # cn -> DN
    rid: int = 1100

    @property
    def ou_name(self) -> str:
        return self.dn.split(",", 1)[0].split("=", 1)[1]

    @property
    def people(self) -> str:
        return f"ou=People,{self.dn}"

    @property
    def groups_ou(self) -> str:
        return f"ou=Groups,{self.dn}"

    @property
    def computers_ou(self) -> str:
        return f"ou=Computers,{self.dn}"

    def config(self, **overrides: Any) -> LdapConfig:
        """A connector config reading this tree over plain LDAP as the service account."""
        values: dict[str, Any] = {
            "url": self.server.url,
            "bind_dn": self.server.service_dn,
            "bind_password": self.server.service_password,
            "base_dn": self.dn,
            "users_base": self.people,
            "groups_base": self.groups_ou,
            "computers_base": self.computers_ou,
            "cursor_overlap_seconds": 0,
        }
        values.update(overrides)
        return LdapConfig.model_validate(values)

    def admin(self) -> ldap3.Connection:
        return self.server.admin()

    def add_user(self, conn: ldap3.Connection, name: str, **attrs: Any) -> str:
        """Add user ``name`` (sAMAccountName) with AD-like attributes; returns its DN."""
        dn = f"cn={name},{self.people}"
        number = int(name[1:]) if name[1:].isdigit() else 99
        values: dict[str, Any] = {
            "cn": name,
            "sn": f"Surname{number:02d}",
            "givenName": f"Given{number:02d}",
            "displayName": f"Given{number:02d} Surname{number:02d}",
            "sAMAccountName": name,
            "userPrincipalName": f"{name}@corp.example.com",
            "mail": f"{name}@example.com",
            "department": "Engineering" if number % 2 == 0 else "Finance",
            "title": f"Title {number}",
            "userAccountControl": "512",
            "employeeID": f"E{number:05d}",
            "telephoneNumber": f"+49 30 {number:04d}",
            "lastLogonTimestamp": str(datetime_to_filetime(LAST_LOGON)),
        }
        values.update(self._ids(name))
        values.update({key: value for key, value in attrs.items() if value is not None})
        for key in [key for key, value in attrs.items() if value is None]:
            values.pop(key, None)
        conn.add(dn, ["user"], values)
        self.users[name] = dn
        return dn

    def add_group(self, conn: ldap3.Connection, name: str, members: list[str]) -> str:
        """Add group ``name`` whose members are DNs; returns its DN."""
        dn = f"cn={name},{self.groups_ou}"
        values: dict[str, Any] = {"cn": name, "sAMAccountName": name.replace(" ", "")}
        values.update(self._ids(name))
        if members:
            values["member"] = members
        conn.add(dn, ["group"], values)
        self.groups[name] = dn
        return dn

    def add_computer(self, conn: ldap3.Connection, name: str, ou: str, **attrs: str) -> str:
        """Add a computer object under ``ou`` (relative to the Computers OU)."""
        dn = f"cn={name},{ou},{self.computers_ou}"
        values: dict[str, Any] = {"cn": name, "sAMAccountName": f"{name}$", **attrs}
        values.update(self._ids(name))
        conn.add(dn, ["computer"], values)
        return dn

    def _ids(self, name: str) -> dict[str, bytes]:
        guid = uuid.uuid4()
        self.guids[name] = str(guid)
        self.rid += 1
        return {"objectGUID": guid.bytes_le, "objectSid": sid_to_bytes(f"{DOMAIN_SID}-{self.rid}")}


def build_tree(server: Slapd, users: int = 8) -> Tree:
    """Create a tree with ``users`` people, the nested groups and three computers."""
    tree = Tree(server, f"ou=t{uuid.uuid4().hex[:10]},{server.base_dn}")
    conn = tree.admin()
    conn.add(tree.dn, ["organizationalUnit"])
    for ou in (tree.people, tree.groups_ou, tree.computers_ou):
        conn.add(ou, ["organizationalUnit"])
    for ou in (f"ou=Berlin,{tree.computers_ou}", f"ou=Laptops,ou=Berlin,{tree.computers_ou}"):
        conn.add(ou, ["organizationalUnit"])
    conn.add(f"ou=Servers,{tree.computers_ou}", ["organizationalUnit"])
    _add_people(tree, conn, users)
    _add_groups(tree, conn)
    _add_computers(tree, conn)
    conn.unbind()
    return tree


def _add_people(tree: Tree, conn: ldap3.Connection, count: int) -> None:
    tree.add_user(conn, "u00", title="CTO")
    for number in range(1, count):
        name = f"u{number:02d}"
        extra: dict[str, Any] = {"manager": tree.users["u00"]}
        if name == "u02":
            extra["userAccountControl"] = "514"  # NORMAL_ACCOUNT | ACCOUNTDISABLE
        if name == "u04":
            extra["mail"] = None
        tree.add_user(conn, name, **extra)


def _add_groups(tree: Tree, conn: ldap3.Connection) -> None:
    tree.add_group(conn, "SRE", [tree.users[u] for u in DIRECT["SRE"]])
    tree.add_group(conn, "Platform", [tree.users["u02"], tree.groups["SRE"]])
    tree.add_group(
        conn, "Engineering", [*(tree.users[u] for u in ("u00", "u01")), tree.groups["Platform"]]
    )
    tree.add_group(conn, "All Staff", list(tree.users.values()))
    tree.add_group(conn, "Cycle B", [tree.users["u05"]])
    tree.add_group(conn, "Cycle A", [tree.groups["Cycle B"]])
    conn.modify(tree.groups["Cycle B"], {"member": [(ldap3.MODIFY_ADD, [tree.groups["Cycle A"]])]})


def _add_computers(tree: Tree, conn: ldap3.Connection) -> None:
    logon = str(datetime_to_filetime(LAST_LOGON))
    tree.add_computer(
        conn,
        "LT-0001",
        "ou=Laptops,ou=Berlin",
        dNSHostName="LT-0001.corp.example.com",
        operatingSystem="Windows 11 Enterprise",
        operatingSystemVersion="10.0 (22631)",
        userAccountControl="4096",
        lastLogonTimestamp=logon,
    )
    tree.add_computer(
        conn,
        "LT-0002",
        "ou=Laptops,ou=Berlin",
        operatingSystem="Windows 10 Enterprise",
        userAccountControl="4098",
    )
    tree.add_computer(
        conn,
        "SRV-DB1",
        "ou=Servers",
        dNSHostName="srv-db1.corp.example.com",
        operatingSystem="Windows Server 2022 Datacenter",
        operatingSystemVersion="10.0 (20348)",
        userAccountControl="4096",
        lastLogonTimestamp=logon,
    )
