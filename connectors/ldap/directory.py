"""A per-run index of the directory: DN → user key, DN → group, and the nesting graph.

Group members, ``memberOf`` and ``manager`` are DNs; records carry keys (a user's
email/UPN, a group's lower-case name). One paged search over the users base (key
attributes only) and one over the groups base (``member`` included; ldap3 follows
AD's ``member;range=`` retrieval) give what is needed to resolve every DN and to
compute nested membership without ``LDAP_MATCHING_RULE_IN_CHAIN``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.ldap.client import LdapClient
from connectors.ldap.config import Flavor, LdapConfig
from connectors.ldap.cursor import ChangeTracker
from connectors.ldap.entry import Entry
from connectors.ldap.mapping import ID_ATTRIBUTES, group_key, normalize_dn, user_key
from connectors.ldap.nesting import GroupGraph
from connectors.ldap.paging import PagedSearch


@dataclass
class GroupNode:
    """What the index keeps of one group."""

    key: str
    member_dns: list[str]
    changed: str | None


@dataclass
class DirectoryIndex:
    """DN lookups and nesting for one run (DNs are normalized with ``normalize_dn``)."""

    user_keys: dict[str, str] = field(default_factory=dict)
    groups: dict[str, GroupNode] = field(default_factory=dict)
    _graph: GroupGraph | None = None

    @property
    def graph(self) -> GroupGraph:
        """The nesting graph: member DN → group DNs listing it as a member."""
        if self._graph is None:
            parents: dict[str, list[str]] = {}
            for group_dn, node in self.groups.items():
                for member in node.member_dns:
                    parents.setdefault(member, []).append(group_dn)
            self._graph = GroupGraph(parents)
        return self._graph

    def user_key(self, dn: str) -> str | None:
        """The key of the user at ``dn`` (None when it is not a user read by this connection)."""
        return self.user_keys.get(normalize_dn(dn))

    def group_key(self, dn: str) -> str | None:
        """The key of the group at ``dn``."""
        node = self.groups.get(normalize_dn(dn))
        return node.key if node else None

    def classify(self, member_dns: list[str]) -> tuple[list[str], list[str]]:
        """Member DNs as (user keys, nested group keys), sorted; unknown DNs are left out."""
        users: set[str] = set()
        nested: set[str] = set()
        for member in map(normalize_dn, member_dns):
            if member in self.groups:
                nested.add(self.groups[member].key)
            elif member in self.user_keys:
                users.add(self.user_keys[member])
        return sorted(users), sorted(nested)

    def transitive_groups(self, dn: str, member_of: list[str]) -> list[str]:
        """Keys of every group the entry belongs to, directly or through nesting."""
        direct = set(self.graph.direct_parents(normalize_dn(dn)))
        direct |= {normalize_dn(group) for group in member_of}
        found = {group for group in direct if group in self.groups}
        for group in list(found):
            found |= self.graph.ancestors(group)
        return sorted({self.groups[group].key for group in found if group in self.groups})

    def any_group_changed(self, tracker: ChangeTracker, since: str | None) -> bool:
        """Whether a group changed at or after ``since`` (membership lives on groups)."""
        if since is None:
            return False
        return any(tracker.changed_since(node.changed, since) for node in self.groups.values())


async def build_index(
    client: LdapClient, config: LdapConfig, flavor: Flavor, tracker: ChangeTracker
) -> DirectoryIndex:
    """Read the key attributes of all users and groups into a DirectoryIndex."""
    index = DirectoryIndex()
    attrs = config.user_attributes
    users = _search(config, flavor, "users", (*attrs.email, *attrs.upn))
    async for entry in users.entries(client):
        index.user_keys[normalize_dn(entry.dn)] = user_key(entry, attrs)
    wanted = ("cn", config.group_key_attribute, "member", tracker.attribute)
    async for entry in _search(config, flavor, "groups", wanted).entries(client):
        index.groups[normalize_dn(entry.dn)] = _group_node(entry, config, tracker)
    return index


def _group_node(entry: Entry, config: LdapConfig, tracker: ChangeTracker) -> GroupNode:
    members = [normalize_dn(dn) for dn in entry.texts("member")]
    return GroupNode(group_key(entry, config.group_key_attribute), members, tracker.value(entry))


def _search(config: LdapConfig, flavor: Flavor, stream: str, attrs: tuple[str, ...]) -> PagedSearch:
    return PagedSearch(
        config.search_base(stream),
        config.search_filter(stream, flavor),
        (*ID_ATTRIBUTES, *attrs),
        config.page_size,
    )
