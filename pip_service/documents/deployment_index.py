"""``releases/deployment_index``: rollout keys by application, version and ring.

A deployment decision needs the rollouts of one application version in the
previous ring. Found by filtering ``releases/deployments`` (10,000 rollouts in
the demo), OPA reads every rollout on every decision; with this index it reads
one bucket and then only the matching rollouts. Derived from the
``releases/deployments`` body of the same build.
"""

from __future__ import annotations

from typing import Any

from pip_service.documents.merge import Entity


def deployment_index(deployments: dict[str, Entity]) -> dict[str, Any]:
    """application → version → ring → the keys of its rollouts (each ``true``).

    Rollouts without a string application, version and ring are in none.
    """
    index: dict[str, dict[str, dict[str, dict[str, bool]]]] = {}
    for key, rollout in deployments.items():
        application, version, ring = (rollout.get(f) for f in ("application", "version", "ring"))
        if isinstance(application, str) and isinstance(version, str) and isinstance(ring, str):
            versions = index.setdefault(application, {})
            versions.setdefault(version, {}).setdefault(ring, {})[key] = True
    return index
