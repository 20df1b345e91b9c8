"""Records → document bodies, one builder per rebuild (it shares the identity merge)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from connectors.base.types import EntityKind, Sensitivity
from pip_service.config import Settings
from pip_service.documents.catalog import DOCUMENTS, DocumentSpec, get_spec
from pip_service.documents.deployment_index import deployment_index
from pip_service.documents.device_index import device_index
from pip_service.documents.devices import DeviceAliases, device_finisher
from pip_service.documents.identity import Identity, build_identity
from pip_service.documents.merge import Entity, Finisher, MergeRules, merge, merged_entities
from pip_service.documents.rows import Contribution, RecordReader
from pip_service.documents.sensitivity import SensitivityMap, most_sensitive
from pip_service.documents.sources import Source


@dataclass(frozen=True)
class BuiltDocument:
    """A document body and what it was made of."""

    name: str
    body: dict[str, Entity]
    sensitivity: Sensitivity
    source_ids: frozenset[int]
    entity_count: int | None = None
    """How many entities it describes, when that is not its number of keys (an index)."""

    @property
    def count(self) -> int:
        """The entity count its metadata reports."""
        return len(self.body) if self.entity_count is None else self.entity_count


def _simple(rules: MergeRules, extra: Callable[[Entity], None] | None = None) -> Finisher:
    def finish(key: str, group: list[Contribution]) -> Entity:
        entity = merge(group, rules).entity(key)
        if extra is not None:
            extra(entity)
        return entity

    return finish


def _success_rate(entity: Entity) -> None:
    target = entity.get("target_count")
    if isinstance(target, int) and target > 0:
        entity["success_rate"] = round(entity.get("success_count", 0) / target, 4)


_SIMPLE: dict[str, tuple[EntityKind, Finisher]] = {
    "assets/relationships": (EntityKind.RELATIONSHIP, _simple(MergeRules())),
    "itsm/changes": (EntityKind.CHANGE, _simple(MergeRules())),
    "releases/applications": (
        EntityKind.APPLICATION,
        _simple(MergeRules(drop=frozenset({"app_key"}))),
    ),
    "releases/deployments": (
        EntityKind.DEPLOYMENT,
        _simple(MergeRules(drop=frozenset({"deployment_id"})), _success_rate),
    ),
}


DOCUMENTS_IDENTITY = get_spec("identity/users")

Index = Callable[[dict[str, Entity]], dict[str, Any]]

INDEXES: dict[str, Index] = {
    "assets/device_index": device_index,
    "releases/deployment_index": deployment_index,
}
"""How each derived document (``DocumentSpec.derived_from``) is computed from its source."""

_INDEXED = frozenset(spec.derived_from for spec in DOCUMENTS if spec.derived_from is not None)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a build allocates millions of small acyclic objects."""
    # Without this, full collections run over and over: a build takes 2-3 times longer.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class DocumentBuilder:
    """Builds document bodies from the records in one session."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        sources: dict[int, Source],
        sensitivities: SensitivityMap,
        settings: Settings,
    ) -> None:
        self._session = session
        self._sources = sources
        self._sensitivities = sensitivities
        self._settings = settings
        self._identity: tuple[Identity, list[RecordReader]] | None = None
        self._kept: dict[str, tuple[dict[str, Entity], list[RecordReader]]] = {}

    @property
    def sources(self) -> dict[int, Source]:
        """The connections this builder merges, by id."""
        return self._sources

    def reader(self, entity: EntityKind) -> RecordReader:
        """A record reader of one entity kind sharing this builder's sources."""
        return RecordReader(
            self._session, entity.value, sources=self._sources, sensitivities=self._sensitivities
        )

    async def build(self, spec: DocumentSpec) -> BuiltDocument:
        """Build one document body from the current records."""
        with gc_paused():
            return await self._build(spec)

    async def _build(self, spec: DocumentSpec) -> BuiltDocument:
        if spec.derived_from is not None:
            body, readers = await self._parts(get_spec(spec.derived_from))
            self._kept.pop(spec.derived_from, None)  # listed after its source: no one else needs it
            return self._built(spec, INDEXES[spec.name](body), readers, entity_count=len(body))
        return self._built(spec, *await self._parts(spec))

    async def _parts(self, spec: DocumentSpec) -> tuple[dict[str, Entity], list[RecordReader]]:
        """A document's body and its readers; kept for its index when it has one."""
        kept = self._kept.get(spec.name)
        if kept is not None:
            return kept
        parts = await self._body(spec)
        if spec.name in _INDEXED:
            self._kept[spec.name] = parts
        return parts

    async def _body(self, spec: DocumentSpec) -> tuple[dict[str, Entity], list[RecordReader]]:
        if spec.name in ("identity/users", "identity/groups"):
            identity, readers = await self._identity_parts()
            return (identity.users if spec.name == "identity/users" else identity.groups), readers
        if spec.name == "assets/devices":
            reader = self.reader(EntityKind.DEVICE)
            finish = device_finisher(self._settings.device_compliance_rule)
            return await merged_entities(reader, finish, DeviceAliases()), [reader]
        entity, finish = _SIMPLE[spec.name]
        reader = self.reader(entity)
        return await merged_entities(reader, finish), [reader]

    def identity_built(self) -> tuple[Identity, Sensitivity, frozenset[int]] | None:
        """The identity this builder built (with its sensitivity and sources), if it did."""
        if self._identity is None:
            return None
        identity, readers = self._identity
        built = self._built(DOCUMENTS_IDENTITY, identity.users, readers)
        return identity, built.sensitivity, built.source_ids

    async def _identity_parts(self) -> tuple[Identity, list[RecordReader]]:
        if self._identity is None:
            users, groups = self.reader(EntityKind.USER), self.reader(EntityKind.GROUP)
            self._identity = (await build_identity(users, groups), [users, groups])
        return self._identity

    def _built(
        self,
        spec: DocumentSpec,
        body: dict[str, Entity],
        readers: list[RecordReader],
        *,
        entity_count: int | None = None,
    ) -> BuiltDocument:
        sensitivity = most_sensitive(reader.sensitivity() for reader in readers)
        source_ids = frozenset(i for reader in readers for i in reader.source_ids)
        return BuiltDocument(spec.name, body, sensitivity, source_ids, entity_count)
