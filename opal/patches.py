"""JSON Patches between two versions of a document keyed by entity.

Operations work on whole entities (``add /<key>`` with the entity, ``remove
/<key>``): ``add`` on an existing member replaces it (RFC 6902 §4.1), so a patch
applies the same whatever version of that entity a client holds, and OPA's
PATCH (which supports ``add``, ``remove`` and ``replace`` only, no ``test``)
accepts it. Paths are relative to the entry's ``dst_path``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jsonpatch
from jsonpointer import escape

from pip_service.documents.deltas import Change

Operation = dict[str, Any]


def entity_path(key: str) -> str:
    """The JSON Pointer of a top-level member (``/`` and ``~`` escaped)."""
    return "/" + escape(key)


def changed_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Keys added, removed or whose value differs, sorted."""
    keys = old.keys() | new.keys()
    return sorted(key for key in keys if old.get(key, _MISSING) != new.get(key, _MISSING))


def document_patch(old: dict[str, Any], new: dict[str, Any]) -> list[Operation]:
    """Whole-entity operations turning ``old`` into ``new``."""
    ops: list[Operation] = []
    for key in changed_keys(old, new):
        if key in new:
            ops.append({"op": "add", "path": entity_path(key), "value": new[key]})
        else:
            ops.append({"op": "remove", "path": entity_path(key)})
    return ops


def changes_patch(changes: Mapping[str, Change]) -> list[Operation]:
    """Whole-entity operations for known entity changes (as ``document_patch`` would give)."""
    ops: list[Operation] = []
    for key in sorted(changes):
        change = changes[key]
        if change.value is not None:
            ops.append({"op": "add", "path": entity_path(key), "value": change.value})
        elif change.existed:
            ops.append({"op": "remove", "path": entity_path(key)})
    return ops


def apply_patch(document: dict[str, Any], ops: list[Operation]) -> dict[str, Any]:
    """``document`` with ``ops`` applied (a copy), as a client's store would do it."""
    patched: dict[str, Any] = jsonpatch.JsonPatch(ops).apply(document, in_place=False)
    return patched


_MISSING = object()
