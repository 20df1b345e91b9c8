"""``identity/users`` and ``identity/groups``: people merged by email/UPN, groups resolved.

Membership is read both ways (a user's ``groups`` and a group's ``members``).
A user's ``groups`` become transitive: a group listed in another group's
``member_groups`` makes its members members of that other group too, however
deep, cycles included. A user's ``roles`` are its own roles plus the roles of
every group it belongs to.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from pip_service.documents.merge import Entity, MergeRules, merge, merged_entities
from pip_service.documents.rows import Contribution, RecordReader

USER_RULES = MergeRules(union=frozenset({"groups", "roles"}), latest=frozenset({"last_sign_in"}))
GROUP_RULES = MergeRules(
    union=frozenset({"members", "member_groups", "roles"}), drop=frozenset({"group_key"})
)


@dataclass
class Identity:
    """Both identity documents' bodies, built together."""

    users: dict[str, Entity]
    groups: dict[str, Entity]
    own: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each user's own ``groups`` (from its records), before memberships are resolved."""
    raw_members: dict[str, frozenset[str]] = field(default_factory=dict)
    """Each group's own ``members`` (from its records), before memberships are resolved."""
    weak: bool = False
    """Whether any user was known only by UPN (attached through aliases)."""


class UserAliases:
    """A user known only by UPN joins the user with an email whose UPN matches."""

    def __init__(self) -> None:
        self.weak_seen = False

    def is_weak(self, key: str, group: list[Contribution]) -> bool:
        """No source gave an email."""
        weak = not any("email" in c.data for c in group)
        self.weak_seen = self.weak_seen or weak
        return weak

    def aliases(self, contribution: Contribution) -> list[str]:
        """``upn:<upn>`` of the record."""
        upn = contribution.data.get("upn")
        return [f"upn:{upn}"] if isinstance(upn, str) else []


def finish_user(key: str, group: list[Contribution]) -> Entity:
    return merge(group, USER_RULES).entity(key)


def _finish_group(key: str, group: list[Contribution]) -> Entity:
    entity = merge(group, GROUP_RULES).entity(key)
    if "members" in entity:
        entity["members"] = sorted({_user_key(m) for m in entity["members"]})
    return entity


async def build_identity(users: RecordReader, groups: RecordReader) -> Identity:
    """Merge users and groups, then resolve memberships and roles."""
    aliases = UserAliases()
    group_entities = await merged_entities(groups, _finish_group)
    user_entities = await merged_entities(users, finish_user, aliases)
    own = {key: frozenset(user.get("groups", ())) for key, user in user_entities.items()}
    raw = {key: frozenset(group.get("members", ())) for key, group in group_entities.items()}
    _link(user_entities, group_entities)
    return Identity(user_entities, group_entities, own, raw, aliases.weak_seen)


def _user_key(value: str) -> str:
    value = value.strip()
    return value.lower() if "@" in value else value


def _link(users: dict[str, Entity], groups: dict[str, Entity]) -> None:
    direct = {key: set(user.get("groups", ())) for key, user in users.items()}
    for group_key, group in groups.items():
        for member in group.get("members", ()):
            if member in direct:
                direct[member].add(group_key)
    members: dict[str, set[str]] = {key: set(g.get("members", ())) for key, g in groups.items()}
    for user_key, user_groups in direct.items():
        for group_key in user_groups & members.keys():
            members[group_key].add(user_key)
    closures = closures_of(groups)
    for user_key, user in users.items():
        resolve_user(user, direct[user_key], closures, groups)
    for group_key, group in groups.items():
        group["members"] = sorted(members[group_key])
        group.setdefault("member_groups", [])
        group.setdefault("roles", [])


def closures_of(groups: dict[str, Entity]) -> dict[str, set[str]]:
    """Group → itself and every group it is nested in, directly or not."""
    parents: dict[str, set[str]] = {}
    for key, group in groups.items():
        for child in group.get("member_groups", ()):
            parents.setdefault(child, set()).add(key)
    return {key: _ancestors(key, parents) for key in {*groups, *parents}}


def _ancestors(start: str, parents: dict[str, set[str]]) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for parent in parents.get(queue.popleft(), ()):
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)
    return seen


def resolve_user(
    user: Entity, direct: set[str], closures: dict[str, set[str]], groups: dict[str, Entity]
) -> None:
    transitive: set[str] = set()
    for group_key in direct:
        transitive |= closures.get(group_key, {group_key})
    roles = set(user.get("roles", ()))
    for group_key in transitive & groups.keys():
        roles.update(groups[group_key].get("roles", ()))
    user["groups"] = sorted(transitive)
    user["roles"] = sorted(roles)
