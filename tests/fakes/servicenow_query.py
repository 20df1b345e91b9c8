"""Encoded queries for the ServiceNow fake, as ServiceNow's "Encoded query strings" documents them.

- ``^`` joins conditions (AND); ``^OR`` makes the next condition an alternative
  of the previous one; ``^NQ`` starts a new query whose results are OR-ed with
  the others;
- operators ``=``, ``!=``, ``>``, ``>=``, ``<``, ``<=``, ``STARTSWITH``,
  ``LIKE``, ``IN`` (comma-separated values); values compare as the stored
  strings (date-times ``YYYY-MM-DD HH:MM:SS`` sort as text);
- ``ORDERBY<field>``/``ORDERBYDESC<field>`` anywhere, applying to the whole
  result (several give a multi-field order);
- invalid parts (unknown fields, unknown operators) are ignored, and reported
  in ``Query.invalid`` so tests can assert a connector sends none.

Evaluation is exact; :class:`Evaluator` adds two shortcuts that give the same
rows faster: keyset queries (``B^f1>T^NQB^f1=T^f2>K`` ordered by f1, f2) are a
bisect into the cached, ordered result of ``B``, and a group with an ``=`` or
``IN`` condition looks its candidates up in an index.
"""

from __future__ import annotations

import bisect
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

_OPERATORS = (">=", "<=", "!=", "STARTSWITH", "LIKE", "IN", ">", "<", "=")
_TESTS: dict[str, Callable[[str, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "STARTSWITH": str.startswith,
    "LIKE": lambda actual, value: value in actual,
    "IN": lambda actual, value: actual in value,
}
Row = dict[str, Any]


@dataclass(frozen=True)
class Condition:
    """``field operator value`` (IN values as a frozenset)."""

    field: str
    op: str
    value: Any

    def test(self, row: Row) -> bool:
        return _TESTS[self.op](str(row.get(self.field, "")), self.value)


Clause = tuple[Condition, ...]  # alternatives joined by ^OR
Group = tuple[Clause, ...]  # clauses joined by ^


@dataclass
class Query:
    """A parsed encoded query: OR-ed groups of AND-ed clauses, and the order."""

    groups: list[Group] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)

    def matches(self, row: Row) -> bool:
        if not self.groups:
            return True
        return any(all(any(c.test(row) for c in clause) for clause in g) for g in self.groups)


def parse(text: str, columns: set[str]) -> Query:
    """Parse ``text``; conditions on fields outside ``columns`` are invalid (ignored)."""
    query = Query()
    for chunk in text.split("^NQ"):
        group: list[list[Condition]] = []
        for part in filter(None, chunk.split("^")):
            _add(query, group, part, columns)
        if group:
            query.groups.append(tuple(tuple(clause) for clause in group))
    return query


def _add(query: Query, group: list[list[Condition]], part: str, columns: set[str]) -> None:
    if part.startswith("ORDERBY"):
        descending = part.startswith("ORDERBYDESC")
        name = part.removeprefix("ORDERBYDESC" if descending else "ORDERBY")
        if name in columns:
            query.order.append((name, descending))
        else:
            query.invalid.append(part)
        return
    alternative = part.startswith("OR") and _condition(part[2:], columns) is not None
    condition = _condition(part[2:] if alternative else part, columns)
    if condition is None:
        query.invalid.append(part)
    elif alternative and group:
        group[-1].append(condition)
    else:
        group.append([condition])


def _condition(part: str, columns: set[str]) -> Condition | None:
    for op in _OPERATORS:
        name, found, value = part.partition(op)
        if found and name in columns:
            return Condition(name, op, frozenset(value.split(",")) if op == "IN" else value)
    return None


def order_rows(rows: list[Row], order: list[tuple[str, bool]]) -> list[Row]:
    """``rows`` sorted by ``order`` (stable, like a database ORDER BY)."""
    ordered = list(rows)
    for name, descending in reversed(order):
        ordered.sort(key=_column_text(name), reverse=descending)
    return ordered


def _column_text(name: str) -> Callable[[Row], str]:
    return lambda row: str(row.get(name, ""))


class Evaluator:
    """Runs queries against one table version, caching what repeated page requests reuse."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows
        self._ordered: dict[tuple[Any, ...], tuple[list[Row], list[tuple[str, ...]]]] = {}
        self._indexes: dict[str, dict[str, list[Row]]] = {}
        self._positions: dict[int, int] | None = None

    def run(self, query: Query) -> list[Row]:
        """The rows matching ``query``, in its order."""
        keyset = _keyset(query)
        if keyset is not None:
            base, bound = keyset
            rows, keys = self._ordered_base(base, query.order)
            return rows[bisect.bisect_right(keys, bound) :]
        return order_rows(self._filter(query), query.order)

    def _ordered_base(
        self, base: Group, order: list[tuple[str, bool]]
    ) -> tuple[list[Row], list[tuple[str, ...]]]:
        key = (base, tuple(order))
        if key not in self._ordered:
            rows = order_rows(self._filter(Query(groups=[base] if base else [])), order)
            names = [name for name, _ in order]
            self._ordered[key] = (rows, [tuple(str(r.get(n, "")) for n in names) for r in rows])
        return self._ordered[key]

    def _filter(self, query: Query) -> list[Row]:
        candidates = self._candidates(query)
        return [row for row in candidates if query.matches(row)]

    def _candidates(self, query: Query) -> list[Row]:
        lookups = [_lookup(group) for group in query.groups]
        if not query.groups or any(found is None for found in lookups):
            return self.rows
        seen: dict[int, Row] = {}
        for name, values in filter(None, lookups):
            index = self._index(name)
            for value in values:
                seen.update((id(row), row) for row in index.get(value, ()))
        position = self._position()
        return sorted(seen.values(), key=lambda row: position[id(row)])

    def _position(self) -> dict[int, int]:
        if self._positions is None:
            self._positions = {id(row): at for at, row in enumerate(self.rows)}
        return self._positions

    def _index(self, name: str) -> dict[str, list[Row]]:
        if name not in self._indexes:
            index: dict[str, list[Row]] = {}
            for row in self.rows:
                index.setdefault(str(row.get(name, "")), []).append(row)
            self._indexes[name] = index
        return self._indexes[name]


def _lookup(group: Group) -> tuple[str, frozenset[str]] | None:
    for clause in group:
        if len(clause) == 1 and clause[0].op in ("=", "IN"):
            condition = clause[0]
            values = condition.value if condition.op == "IN" else frozenset({condition.value})
            return condition.field, values
    return None


def _keyset(query: Query) -> tuple[Group, tuple[str, ...]] | None:
    """(base, bound) when ``query`` is ``B^f1>T^NQB^f1=T^f2>K`` ordered by f1, f2 ascending."""
    if len(query.groups) != 2 or len(query.order) != 2 or any(d for _, d in query.order):
        return None
    (f1, _), (f2, _) = query.order
    first, second = query.groups
    if any(len(clause) != 1 for clause in (*first, *second)):
        return None
    after, tie = first[-1][0], second[-2:]
    if len(tie) != 2 or first[:-1] != second[:-2]:
        return None
    same, beyond = tie[0][0], tie[1][0]
    shape = (after.field, after.op, same.field, same.op, beyond.field, beyond.op)
    if shape != (f1, ">", f1, "=", f2, ">") or after.value != same.value:
        return None
    return first[:-1], (str(after.value), str(beyond.value))
