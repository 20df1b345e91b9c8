"""Merging the records of several sources into one entity, with provenance.

Each field takes the value of the first contribution in precedence order that
has it (``PIP_SOURCE_PRECEDENCE`` rank, then the most recently updated record,
then names, so the result never depends on row order). ``union`` fields are
combined across sources (sorted, deduplicated), ``latest`` fields take the
latest timestamp, ``combine`` objects are merged key by key. When more than one
connection contributed, ``provenance`` names the connection of every field
that came from a single source.

Entities whose key is weak (a device known only by asset tag or hostname, a
user known only by UPN) are attached to the one strong entity that shares an
alias with them; when none or several do, they stay entities of their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pip_service.documents.rows import Contribution, RecordReader

Entity = dict[str, Any]
Finisher = Callable[[str, list[Contribution]], Entity]

_AMBIGUOUS = "\x00ambiguous"


@dataclass(frozen=True)
class MergeRules:
    """How the fields of one entity kind combine across sources."""

    union: frozenset[str] = frozenset()
    latest: frozenset[str] = frozenset()
    combine: frozenset[str] = frozenset()
    drop: frozenset[str] = frozenset()


@dataclass
class Merged:
    """Merged fields of one entity, with the contributions in precedence order."""

    fields: Entity
    provenance: dict[str, str]
    ordered: list[Contribution]
    sources: list[str] = field(default_factory=list)

    def entity(self, key: str) -> Entity:
        """The document entry: fields plus key, sources and (multi-source) provenance."""
        result = self.fields
        result["key"] = key
        result["sources"] = self.sources
        if len(self.sources) > 1:
            result["provenance"] = self.provenance
        return result


class AliasRules(Protocol):
    """Which entities have weak keys and which aliases join them to strong ones."""

    def is_weak(self, key: str, group: list[Contribution]) -> bool:
        """Whether the entity should be attached to a strong one when an alias matches."""
        ...

    def aliases(self, contribution: Contribution) -> list[str]:
        """Alias keys a contribution is known by (e.g. ``tag:A123``, ``host:lap-1``)."""
        ...


def ordered(group: list[Contribution]) -> list[Contribution]:
    """Contributions in precedence order."""
    return group if len(group) == 1 else sorted(group, key=Contribution.order)


def merge(group: list[Contribution], rules: MergeRules) -> Merged:
    """Merge one entity's contributions field by field."""
    contributions = ordered(group)
    fields: Entity = {}
    provenance: dict[str, str] = {}
    for contribution in contributions:
        name = contribution.source.name
        for key, value in contribution.data.items():
            if key not in fields:
                fields[key] = value
                provenance[key] = name
            else:
                _combine(fields, provenance, key, value, name, rules)
    _finish_fields(fields, provenance, rules)
    sources = sorted({c.source.name for c in contributions})
    return Merged(fields, provenance, contributions, sources)


def _combine(
    fields: Entity, provenance: dict[str, str], key: str, value: Any, name: str, rules: MergeRules
) -> None:
    if key in rules.union:
        fields[key] = [*fields[key], *value]
    elif key in rules.latest:
        if value > fields[key]:
            fields[key] = value
            provenance[key] = name
    elif key in rules.combine and isinstance(value, dict):
        fields[key] = {**value, **fields[key]}


def _finish_fields(fields: Entity, provenance: dict[str, str], rules: MergeRules) -> None:
    for key in rules.union:
        if key in fields:
            fields[key] = sorted(set(fields[key]))
            provenance.pop(key, None)
    for key in rules.drop:
        fields.pop(key, None)
        provenance.pop(key, None)


async def merged_entities(
    reader: RecordReader, finish: Finisher, aliases: AliasRules | None = None
) -> dict[str, Entity]:
    """Every entity of the reader's kind, merged; weak keys attached through aliases."""
    entities: dict[str, Entity] = {}
    weak: dict[str, list[Contribution]] = {}
    index: dict[str, str] = {}
    async for batch in reader.groups():
        for key, group in batch:
            if aliases is not None and aliases.is_weak(key, group):
                weak[key] = group
                continue
            if aliases is not None:
                _index(index, key, group, aliases)
            entities[key] = finish(key, group)
    if weak and aliases is not None:
        await _attach(reader, entities, weak, index, aliases, finish)
    return entities


def _index(index: dict[str, str], key: str, group: list[Contribution], rules: AliasRules) -> None:
    for contribution in group:
        for alias in rules.aliases(contribution):
            if index.setdefault(alias, key) != key:
                index[alias] = _AMBIGUOUS


async def _attach(
    reader: RecordReader,
    entities: dict[str, Entity],
    weak: dict[str, list[Contribution]],
    index: dict[str, str],
    rules: AliasRules,
    finish: Finisher,
) -> None:
    targets: dict[str, list[Contribution]] = {}
    for key, group in weak.items():
        found = {index.get(alias) for c in group for alias in rules.aliases(c)} - {None}
        if len(found) == 1 and _AMBIGUOUS not in found:
            targets.setdefault(str(found.pop()), []).extend(group)
        else:
            entities[key] = finish(key, group)
    async for batch in reader.groups(sorted(targets)):
        for key, group in batch:
            entities[key] = finish(key, [*group, *targets[key]])
