"""Which fields of the ``data.pip`` documents do the policies read?

A static scan of the Rego source, made for the conventions of ``policies/``:

- a direct reference ``data.pip.<doc>[...].<field>...``;
- a name bound to a document or to a part of one, then read through:
  ``devices := data.pip.assets.devices``, ``device := devices[k]``,
  ``some rollout in data.pip.releases.deployments``,
  ``some approval in change.approvals``, ``change := data.pip.itsm.changes[k]``;
- a function returning an entity, read through its call:
  ``user(k) := data.pip.identity.users[key(k)]`` then ``rbac.user(k).roles``;
- ``object.get(<bound name>, "<field>", default)``.

A name keeps one meaning in a file (function parameters reuse the name, e.g.
``score_ok(device)``), so the scan refuses a file that binds one name to two
different places. Each reference is a document name and a path of segments,
``*`` for any key or index: ``("assets/devices", ("*", "compliance_score"))``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ANY = "*"
Path_ = tuple[str, ...]

_NAME = r"[A-Za-z_]\w*"
_BINDING = re.compile(rf"(?<![\w.])({_NAME})\s*:=\s*(?=(.+)$)")
_FUNCTION = re.compile(rf"^({_NAME})\(([^)]*)\)\s*:=\s*(.+)$")
_SOME = re.compile(rf"\bsome\s+({_NAME})(?:\s*,\s*({_NAME}))?\s+in\s+(?=(.+)$)")
_OBJECT_GET = re.compile(rf"\bobject\.get\(\s*({_NAME})\s*,\s*\"(\w+)\"")


class ScanError(Exception):
    """The Rego does not follow the conventions the scan relies on."""


@dataclass(frozen=True)
class Ref:
    """One read of a document field, with where it was found."""

    doc: str
    path: Path_
    where: str


@dataclass(frozen=True)
class Binding:
    doc: str
    path: Path_


def documents(schema_dir: Path) -> dict[str, dict[str, Any]]:
    """The documents with a JSON Schema: ``identity_users.schema.json`` is ``identity/users``."""
    return {
        path.name.removesuffix(".schema.json").replace("_", "/", 1): json.loads(path.read_text())
        for path in sorted(schema_dir.glob("*.schema.json"))
    }


def scan(policy_dir: Path, docs: set[str]) -> list[Ref]:
    """Every document field read by the non-test modules of policy_dir."""
    modules = [p for p in sorted(policy_dir.rglob("*.rego")) if not p.name.endswith("_test.rego")]
    sources = {path: _code(path.read_text()) for path in modules}
    functions: dict[str, Binding] = {}
    for path, lines in sources.items():
        functions.update(_function_bindings(path, lines, docs))
    refs: list[Ref] = []
    for path, lines in sources.items():
        names = _name_bindings(path, lines, docs, functions)
        refs.extend(_reads(path, lines, docs, names, functions))
    return refs


def _code(text: str) -> list[str]:
    """Source lines without comments (``#`` outside strings)."""
    return [re.sub(r'#(?=(?:[^"]*"[^"]*")*[^"]*$).*', "", line) for line in text.splitlines()]


def _function_bindings(path: Path, lines: list[str], docs: set[str]) -> dict[str, Binding]:
    found: dict[str, Binding] = {}
    for line in lines:
        match = _FUNCTION.match(line)
        if match and (binding := _resolve(match.group(3), docs, {}, {})):
            found[match.group(1)] = binding
    return found


def _name_bindings(
    path: Path, lines: list[str], docs: set[str], functions: dict[str, Binding]
) -> dict[str, Binding]:
    """Names bound to data.pip in this file, resolved until nothing changes."""
    names: dict[str, Binding] = {}
    changed = True
    while changed:
        changed = False
        for name, rhs, item in _binding_sites(lines):
            binding = _resolve(rhs, docs, names, functions)
            if binding is None or name == "_":
                continue
            if item:
                binding = Binding(binding.doc, (*binding.path, ANY))
            known = names.get(name)
            if known is not None and known != binding:
                raise ScanError(f"{path}: {name} is bound to {known} and to {binding}")
            if known is None:
                names[name] = binding
                changed = True
    return names


def _binding_sites(lines: list[str]) -> Iterator[tuple[str, str, bool]]:
    """(name, right-hand side, is an item of it) for each `:=` and `some ... in`."""
    for line in lines:
        for match in _BINDING.finditer(line):
            yield match.group(1), match.group(2), False
        for match in _SOME.finditer(line):
            yield match.group(2) or match.group(1), match.group(3), True


def _resolve(
    expr: str, docs: set[str], names: dict[str, Binding], functions: dict[str, Binding]
) -> Binding | None:
    """What an expression starting with data.pip, a bound name or an entity call points to."""
    expr = expr.strip()
    if expr.startswith("data.pip."):
        doc, path = _document_path(_accessors(expr, len("data.pip")), docs)
        return Binding(doc, path)
    call = re.match(rf"(?:{_NAME}\.)?({_NAME})\(", expr)  # user(k) or rbac.user(k)
    if call is not None and call.group(1) in functions:
        end = _closing(expr, call.end() - 1, "(", ")") + 1
        return _extend(functions[call.group(1)], _accessors(expr, end))
    head = re.match(rf"({_NAME})(?![\w(])", expr)
    if head is not None and head.group(1) in names:
        return _extend(names[head.group(1)], _accessors(expr, head.end()))
    return None


def _extend(base: Binding, path: Path_) -> Binding:
    return Binding(base.doc, base.path + path)


def _document_path(segments: Path_, docs: set[str]) -> tuple[str, Path_]:
    for size in (2, 1):
        doc = "/".join(segments[:size])
        if ANY not in segments[:size] and doc in docs:
            return doc, segments[size:]
    raise ScanError(f"data.pip.{'.'.join(segments)} names no known document")


def _accessors(expr: str, start: int) -> Path_:
    """The `.field` and `[...]` chain of expr from start."""
    segments: list[str] = []
    i = start
    while i < len(expr):
        if expr[i] == "." and (field := re.match(r"\.(\w+)", expr[i:])):
            segments.append(field.group(1))
            i += field.end()
        elif expr[i] == "[":
            segments.append(ANY)
            i = _closing(expr, i, "[", "]") + 1
        else:
            break
    return tuple(segments)


def _closing(text: str, start: int, opening: str, closing: str) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += (text[i] == opening) - (text[i] == closing)
        if depth == 0:
            return i
    raise ScanError(f"unbalanced {opening} in: {text}")


def _reads(
    path: Path,
    lines: list[str],
    docs: set[str],
    names: dict[str, Binding],
    functions: dict[str, Binding],
) -> Iterator[Ref]:
    starts = [re.escape("data.pip.")]
    starts += [rf"(?<![\w.]){re.escape(name)}\b(?!\s*:=)" for name in names]
    starts += [rf"(?<![\w]){re.escape(name)}\(" for name in functions]
    pattern = re.compile("|".join(starts))
    for number, line in enumerate(lines, 1):
        where = f"{path.name}:{number}"
        for match in pattern.finditer(line):
            start = match.start()
            while start > 0 and (line[start - 1].isalnum() or line[start - 1] in "_."):
                start -= 1  # a qualified call: rbac.user(k)
            binding = _resolve(line[start:], docs, names, functions)
            if binding is not None:
                yield Ref(binding.doc, binding.path, where)
        for match in _OBJECT_GET.finditer(line):
            if match.group(1) in names:
                base = names[match.group(1)]
                yield Ref(base.doc, (*base.path, match.group(2)), where)


def missing(refs: list[Ref], schemas: dict[str, dict[str, Any]]) -> list[str]:
    """A message for each reference its document's schema does not define."""
    problems = []
    for ref in refs:
        if ref.doc not in schemas:
            problems.append(f"{ref.where}: no JSON Schema for document {ref.doc}")
        elif (bad := _undefined_segment(schemas[ref.doc], ref.path)) is not None:
            shown = ".".join(ref.path)
            problems.append(f"{ref.where}: {ref.doc} has no field {bad!r} (reading {shown})")
    return problems


def _undefined_segment(schema: dict[str, Any], path: Path_) -> str | None:
    root = schema
    node: dict[str, Any] = schema
    for segment in path:
        node = _deref(root, node)
        child = _child(root, node, segment)
        if child is None:
            return segment
        node = child
    return None


def _deref(root: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _child(root: dict[str, Any], node: dict[str, Any], segment: str) -> dict[str, Any] | None:
    """The schema of node[segment]; None when node cannot have it."""
    if segment == ANY:
        for key in ("additionalProperties", "items"):
            if isinstance(node.get(key), dict):
                return _deref(root, node[key])
        if node.get("additionalProperties") is False or "properties" in node:
            return None
        return {}
    properties: dict[str, Any] = node.get("properties", {})
    if segment in properties:
        return _deref(root, properties[segment])
    if "properties" in node or node.get("additionalProperties") is False:
        return None
    return {}  # an open object (e.g. evidence): any field may be present
