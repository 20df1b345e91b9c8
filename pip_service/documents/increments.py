"""Entity-level rebuild of the identity documents after a few users changed.

The last full build leaves an ``IdentityState`` behind: both bodies as they
were stored (with their ETags), each user's own groups and each group's own
members before memberships were resolved. When only user records changed,
the changed keys' records are read again and merged, then exactly what a full
build's ``_link`` would do is redone for those users: their transitive groups
and roles, and their membership in the groups they join or leave. The result
is the same body a full rebuild gives. Anything this cannot reproduce (a group
record changed, a user known only by UPN, a state older than the stored
documents) answers None and the caller builds in full.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors.base.types import Sensitivity
from pip_service.documents.deltas import Change
from pip_service.documents.identity import (
    Identity,
    UserAliases,
    closures_of,
    finish_user,
    resolve_user,
)
from pip_service.documents.merge import Entity
from pip_service.documents.rows import Contribution, RecordReader
from pip_service.documents.sensitivity import most_sensitive

USERS, GROUPS = "identity/users", "identity/groups"


@dataclass
class IdentityState:
    """What the last identity build left: bodies, ETags and pre-resolution memberships."""

    identity: Identity
    etags: dict[str, str]
    sensitivity: Sensitivity
    source_ids: frozenset[int]
    closures: dict[str, set[str]]
    member_of: dict[str, set[str]]
    context: bytes = b""
    """The fingerprint of the connections and settings it was built with."""

    @classmethod
    def of(
        cls,
        identity: Identity,
        etags: dict[str, str],
        sensitivity: Sensitivity,
        source_ids: Iterable[int],
        context: bytes,
    ) -> IdentityState:
        """The state of a full build whose bodies were stored with ``etags``."""
        member_of: dict[str, set[str]] = {}
        for group_key, members in identity.raw_members.items():
            for member in members:
                member_of.setdefault(member, set()).add(group_key)
        closures = closures_of(identity.groups)
        sources = frozenset(source_ids)
        return cls(identity, etags, sensitivity, sources, closures, member_of, context)

    def usable(self, etags: dict[str, str], context: bytes) -> bool:
        """Whether the stored documents and the connections are still those it describes."""
        if self.identity.weak or context != self.context:
            return False
        return all(etags.get(name) == etag for name, etag in self.etags.items())


@dataclass
class IdentityUpdate:
    """The new identity and the entities that changed in each document."""

    identity: Identity
    changes: dict[str, dict[str, Change]]
    sensitivity: Sensitivity
    source_ids: frozenset[int]


async def update_users(
    state: IdentityState, reader: RecordReader, keys: Iterable[str]
) -> IdentityUpdate | None:
    """The identity after the users ``keys`` changed; None when a full build is needed."""
    found: dict[str, list[Contribution]] = {}
    async for batch in reader.groups(sorted(set(keys))):
        found.update(batch)
    aliases = UserAliases()
    if any(aliases.is_weak(key, group) for key, group in found.items()):
        return None
    old = state.identity
    users, groups = dict(old.users), dict(old.groups)
    own = dict(old.own)
    user_changes: dict[str, Change] = {}
    group_changes: dict[str, Change] = {}
    for key in sorted(set(keys)):
        entity, mine = _user(state, key, found.get(key))
        before = own.pop(key, frozenset())
        if entity is not None:
            own[key] = mine
        _put(users, user_changes, key, entity)
        for group_key in sorted((before | own.get(key, frozenset())) & groups.keys()):
            member = key in old.raw_members.get(group_key, ()) or (
                entity is not None and group_key in mine
            )
            _put(groups, group_changes, group_key, _membership(groups[group_key], key, member))
    identity = Identity(users, groups, own, old.raw_members, False)
    sensitivity = most_sensitive([state.sensitivity, reader.sensitivity()])
    sources = state.source_ids | reader.source_ids
    changes = {USERS: user_changes, GROUPS: group_changes}
    return IdentityUpdate(identity, changes, sensitivity, sources)


def _user(
    state: IdentityState, key: str, group: list[Contribution] | None
) -> tuple[Entity | None, frozenset[str]]:
    """The resolved user ``key`` and its own groups; None when it has no live record."""
    if group is None:
        return None, frozenset()
    entity = finish_user(key, group)
    own = frozenset(entity.get("groups", ()))
    direct = set(own) | state.member_of.get(key, set())
    resolve_user(entity, direct, state.closures, state.identity.groups)
    return entity, own


def _membership(group: Entity, user: str, member: bool) -> Entity:
    """``group`` with ``user`` in or out of its members (the same dict when nothing moves)."""
    members: list[str] = group.get("members", [])
    if (user in members) == member:
        return group
    updated = set(members) | {user} if member else set(members) - {user}
    return {**group, "members": sorted(updated)}


def _put(
    body: dict[str, Entity], changes: dict[str, Change], key: str, value: Entity | None
) -> None:
    """Set (or remove) ``key`` in ``body``, noting a change when the value differs."""
    existed = key in body
    if value is None:
        if existed:
            del body[key]
            first = changes.get(key)
            if first is None or first.existed:
                changes[key] = Change(True, None)
            else:
                del changes[key]
        return
    if existed and body[key] == value:
        return
    first = changes.get(key)
    changes[key] = Change(first.existed if first is not None else existed, value)
    body[key] = value
