"""Group nesting resolved from direct ``member`` edges, for directories without
``LDAP_MATCHING_RULE_IN_CHAIN`` (OpenLDAP) and to avoid one in-chain query per user on AD.

Edges are given as child DN → parent group DNs. Cycles (A in B, B in A) are legal
in LDAP and end the walk instead of looping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


class GroupGraph:
    """Direct membership edges and their transitive closure, memoized per node."""

    def __init__(self, parents: Mapping[str, Iterable[str]]) -> None:
        self._parents = {child: tuple(groups) for child, groups in parents.items()}
        self._ancestors: dict[str, frozenset[str]] = {}

    def direct_parents(self, node: str) -> tuple[str, ...]:
        """Groups that list ``node`` as a direct member."""
        return self._parents.get(node, ())

    def ancestors(self, node: str) -> frozenset[str]:
        """Every group ``node`` belongs to, directly or through nested groups."""
        cached = self._ancestors.get(node)
        if cached is None:
            cached = frozenset(_walk(node, self._parents))
            self._ancestors[node] = cached
        return cached


def _walk(start: str, edges: Mapping[str, Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    stack = list(edges.get(start, ()))
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, ()))
    seen.discard(start)
    return seen
