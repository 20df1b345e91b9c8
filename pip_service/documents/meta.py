"""The ``meta`` document: freshness of every other document, computed when served."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pip_service.config import Settings
from pip_service.documents.freshness import is_stale
from pip_service.documents.schemas import SnapshotMeta
from pip_service.documents.sensitivity import ttl_seconds
from pip_service.documents.timestamps import format_utc


def meta_entry(meta: SnapshotMeta, settings: Settings, now: datetime) -> dict[str, Any]:
    """One document's entry in ``meta``."""
    ttl = ttl_seconds(settings, meta.sensitivity)
    return {
        "key": meta.name,
        "revision": meta.revision,
        "etag": meta.etag,
        "sensitivity": meta.sensitivity.label,
        "ttl_seconds": ttl,
        "built_at": format_utc(meta.built_at),
        "refreshed_at": format_utc(meta.refreshed_at),
        "expires_at": format_utc(meta.expires_at(ttl)),
        "stale": is_stale(meta, ttl, now),
        "entity_count": meta.entity_count,
        "size": meta.size,
        "sources": [
            {
                "name": mark.name,
                "connector": mark.connector,
                "last_success_at": format_utc(mark.last_success_at),
            }
            for mark in meta.sources
        ],
    }


def meta_document(
    metas: dict[str, SnapshotMeta], settings: Settings, now: datetime
) -> dict[str, Any]:
    """The ``meta`` body: document name → entry, for every built document."""
    return {name: meta_entry(meta, settings, now) for name, meta in metas.items()}
