"""Entity-level changes between recent versions of a document, kept in memory.

An incremental rebuild knows exactly which entities it changed; it records
them here as a step from one ETag to the next, and the OPAL publisher turns a
chain of steps into a JSON Patch without decompressing or diffing bodies. A
chain that is unknown (a full rebuild, another replica, a restart) answers
None and the publisher diffs the bodies as before.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

Entity = dict[str, Any]
DEPTH = 16


@dataclass(frozen=True)
class Change:
    """One entity's change: whether it existed before and its new value (None: removed)."""

    existed: bool
    value: Entity | None


@dataclass(frozen=True)
class _Step:
    before: str
    after: str
    changes: dict[str, Change]


class DeltaLog:
    """The last ``depth`` incremental steps of every document."""

    def __init__(self, depth: int = DEPTH) -> None:
        self._depth = depth
        self._steps: dict[str, deque[_Step]] = {}

    def record(self, name: str, before: str, after: str, changes: dict[str, Change]) -> None:
        """Remember that ``changes`` turn version ``before`` of ``name`` into ``after``."""
        steps = self._steps.setdefault(name, deque(maxlen=self._depth))
        steps.append(_Step(before, after, changes))

    def forget(self, name: str) -> None:
        """Drop the steps of ``name`` (a full rebuild replaced it)."""
        self._steps.pop(name, None)

    def between(self, name: str, before: str, after: str) -> dict[str, Change] | None:
        """The composed changes from ``before`` to ``after``; None when the chain is unknown."""
        chain = _chain(list(self._steps.get(name, ())), before, after)
        if chain is None:
            return None
        composed: dict[str, Change] = {}
        for step in chain:
            for key, change in step.changes.items():
                first = composed.get(key)
                existed = change.existed if first is None else first.existed
                composed[key] = Change(existed, change.value)
        return composed


def _chain(steps: list[_Step], before: str, after: str) -> list[_Step] | None:
    """The consecutive steps leading from ``before`` to ``after`` (the newest such run)."""
    for start in range(len(steps) - 1, -1, -1):
        if steps[start].before != before:
            continue
        chain: list[_Step] = []
        for step in steps[start:]:
            if chain and step.before != chain[-1].after:
                break
            chain.append(step)
            if step.after == after:
                return chain
    return None
