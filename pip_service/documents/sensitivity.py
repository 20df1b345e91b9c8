"""Field sensitivities per connection and stream; TTL and stale action per sensitivity."""

from __future__ import annotations

from collections.abc import Iterable

from connectors.base.canonical import CANONICAL_MODELS
from connectors.base.types import EntityKind, Sensitivity
from pip_service.config import Settings, StaleAction
from pip_service.documents.sources import ConnectorLookup, Source


def canonical_sensitivities(entity: str) -> dict[str, Sensitivity]:
    """The canonical defaults of an entity kind: INTERNAL unless the model says otherwise."""
    model = CANONICAL_MODELS[EntityKind(entity)]
    merged = {name: Sensitivity.INTERNAL for name in model.model_fields if name != "source_id"}
    merged.update(model.default_sensitivity)
    return merged


class SensitivityMap:
    """Resolves which fields of a (connection, stream) are how sensitive, and which are dropped.

    The connector's declared stream decides (``Stream.sensitivities()``); a stream
    the connector does not declare gets the union of its streams of that entity
    kind, and an unknown connector the canonical defaults.
    """

    def __init__(self, lookup: ConnectorLookup) -> None:
        self._lookup = lookup
        self._cache: dict[tuple[str, str, str], dict[str, Sensitivity]] = {}

    def of(self, source: Source, stream: str, entity: str) -> dict[str, Sensitivity]:
        """Field → sensitivity for records of ``stream`` from ``source``."""
        key = (source.connector, stream, entity)
        if key not in self._cache:
            self._cache[key] = self._resolve(source.connector, stream, entity)
        return self._cache[key]

    def dropped(self, source: Source, stream: str, entity: str) -> frozenset[str]:
        """Restricted fields, left out unless the connection opted in."""
        if source.include_restricted:
            return frozenset()
        fields = self.of(source, stream, entity)
        return frozenset(name for name, level in fields.items() if level >= Sensitivity.RESTRICTED)

    def _resolve(self, slug: str, stream: str, entity: str) -> dict[str, Sensitivity]:
        connector_class = self._lookup(slug)
        streams = getattr(connector_class, "streams", ()) if connector_class else ()
        own = [s for s in streams if s.record_model.entity == entity]
        exact = [s for s in own if s.name == stream]
        chosen = exact or own
        if not chosen:
            return canonical_sensitivities(entity)
        merged: dict[str, Sensitivity] = {}
        for stream_class in chosen:
            for name, level in stream_class.sensitivities().items():
                merged[name] = max(level, merged.get(name, Sensitivity.PUBLIC))
        return merged


def most_sensitive(levels: Iterable[Sensitivity]) -> Sensitivity:
    """The highest of ``levels`` (PUBLIC when there is none)."""
    return max(levels, default=Sensitivity.PUBLIC)


def ttl_seconds(settings: Settings, sensitivity: Sensitivity) -> int:
    """How long data of this sensitivity may be served without a successful refresh."""
    ttl: int = getattr(settings, f"ttl_{sensitivity.label}")
    return ttl


def stale_action(settings: Settings, sensitivity: Sensitivity) -> StaleAction:
    """What happens past the TTL: serve last-known-good marked stale, or fail closed."""
    action: StaleAction = getattr(settings, f"stale_{sensitivity.label}")
    return action
