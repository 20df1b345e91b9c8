"""The documents the PIP serves: names, the entity kinds that feed them, OPA paths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from connectors.base.types import EntityKind
from pip_service.errors import NotFoundError

META = "meta"


@dataclass(frozen=True)
class DocumentSpec:
    """One document: its name (the URL path), the entity kinds it is built from."""

    name: str
    entities: frozenset[EntityKind]
    title: str
    derived_from: str | None = None
    """For an index: the document it is computed from, in the same build. An index is
    not keyed by entity; its ``entity_count`` is that of the document it indexes."""

    @property
    def dst_path(self) -> str:
        """Where OPAL writes it in OPA: ``pip/<name>`` (``data.pip.<name with . >``)."""
        return f"pip/{self.name}"

    @property
    def schema_file(self) -> str:
        """The file name of its JSON Schema under ``policies/schemas``."""
        return f"{self.name.replace('/', '_')}.schema.json"


_IDENTITY = frozenset({EntityKind.USER, EntityKind.GROUP})

DOCUMENTS: tuple[DocumentSpec, ...] = (
    DocumentSpec("identity/users", _IDENTITY, "People with transitive groups and roles"),
    DocumentSpec("identity/groups", _IDENTITY, "Groups with members and roles"),
    DocumentSpec("assets/devices", frozenset({EntityKind.DEVICE}), "Devices merged across sources"),
    DocumentSpec(
        "assets/device_index",
        frozenset({EntityKind.DEVICE}),
        "Device keys by status, ring, compliance score band and MDM verdict",
        derived_from="assets/devices",
    ),
    DocumentSpec(
        "assets/relationships", frozenset({EntityKind.RELATIONSHIP}), "CI dependency edges"
    ),
    DocumentSpec("itsm/changes", frozenset({EntityKind.CHANGE}), "Change requests"),
    DocumentSpec(
        "releases/applications", frozenset({EntityKind.APPLICATION}), "Deployable applications"
    ),
    DocumentSpec(
        "releases/deployments", frozenset({EntityKind.DEPLOYMENT}), "Rollouts of versions to rings"
    ),
    DocumentSpec(
        "releases/deployment_index",
        frozenset({EntityKind.DEPLOYMENT}),
        "Rollout keys by application, version and ring",
        derived_from="releases/deployments",
    ),
)
"""Every built document, in the order listings show them (``meta`` is computed, not built).

An index (``derived_from``) comes after the document it is computed from: the builder
keeps that body until the index is built."""

_BY_NAME = {spec.name: spec for spec in DOCUMENTS}


def document_names(*, with_meta: bool = True) -> list[str]:
    """Names of every document, ``meta`` last."""
    names = [spec.name for spec in DOCUMENTS]
    return [*names, META] if with_meta else names


def get_spec(name: str) -> DocumentSpec:
    """The built document called ``name``; NotFoundError naming the known ones otherwise."""
    spec = _BY_NAME.get(name)
    if spec is None:
        known = ", ".join(document_names())
        raise NotFoundError(f"No document named {name!r}; known documents: {known}", name=name)
    return spec


def check_name(name: str) -> None:
    """Raise NotFoundError unless ``name`` is a document (``meta`` included)."""
    if name != META:
        get_spec(name)


def documents_for(entities: Iterable[str] | None) -> list[DocumentSpec]:
    """The documents fed by any of ``entities`` (all of them when None)."""
    if entities is None:
        return list(DOCUMENTS)
    kinds = {EntityKind(kind) for kind in entities if kind in EntityKind._value2member_map_}
    return [spec for spec in DOCUMENTS if spec.entities & kinds]
