"""The connector registry: connector types found through entry points.

Every connector, built-in or third-party, is an entry point in the group
``pip_service.connectors`` whose name is the connector's slug::

    [project.entry-points."pip_service.connectors"]
    servicenow = "connectors.servicenow:ServiceNowConnector"

Loading is loud: an entry point that fails to import, is not a Connector or
whose slug disagrees with its name raises :class:`ConnectorLoadError` naming
the entry point and the cause, so a broken install fails start-up instead of
silently losing a source.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from connectors.base.connector import Connector
from connectors.base.errors import ConfigError, PipError

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "pip_service.connectors"
BUILTIN_PACKAGE = "connectors."


class ConnectorLoadError(PipError):
    """A registered connector could not be loaded; the installation is broken."""

    code = "connector_load_failed"


def load_connectors() -> dict[str, type[Connector[Any]]]:
    """Every registered connector class by slug, loaded once per process."""
    return dict(_registry())


def clear_cache() -> None:
    """Forget loaded connectors (tests that change the installed entry points)."""
    _registry.cache_clear()


def get_connector_class(slug: str) -> type[Connector[Any]]:
    """The connector class for ``slug``; ConfigError naming the known ones otherwise."""
    connectors = _registry()
    if slug not in connectors:
        known = ", ".join(sorted(connectors)) or "none"
        raise ConfigError(f"Unknown connector type '{slug}' (known types: {known})", field="type")
    return connectors[slug]


def parse_config(connector: type[Connector[Any]], raw: dict[str, Any]) -> BaseModel:
    """Validate a raw config for ``connector``; ConfigError naming each bad field.

    The message names fields and problems but never the submitted values,
    which may be secrets.
    """
    try:
        return connector.config_model.model_validate(raw)
    except ValidationError as err:
        problems = [(_location(e["loc"]), e["msg"]) for e in err.errors(include_input=False)]
        text = "; ".join(f"{name}: {msg}" for name, msg in problems)
        # Not chained on purpose: a ValidationError's text carries the input values.
        raise ConfigError(
            f"Invalid {connector.slug} configuration ({text})",
            fields=[name for name, _ in problems],
        ) from None


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(config)"


@functools.cache
def _registry() -> dict[str, type[Connector[Any]]]:
    found: dict[str, type[Connector[Any]]] = {}
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in found:
            raise ConnectorLoadError(
                f"Two connectors are registered as '{entry_point.name}' "
                f"({entry_point.value} and another); uninstall one of them"
            )
        found[entry_point.name] = load_entry_point(entry_point)
    logger.debug("Loaded connectors: %s", ", ".join(sorted(found)))
    return found


def load_entry_point(entry_point: EntryPoint) -> type[Connector[Any]]:
    """Import one entry point and check it is a Connector registered under its slug."""
    origin = _origin(entry_point)
    try:
        loaded = entry_point.load()
    except Exception as err:
        raise ConnectorLoadError(
            f"{origin} connector '{entry_point.name}' ({entry_point.value}) failed to load: "
            f"{type(err).__name__}: {err}"
        ) from err
    if not (isinstance(loaded, type) and issubclass(loaded, Connector)):
        raise ConnectorLoadError(
            f"{origin} connector '{entry_point.name}' ({entry_point.value}) is not a Connector"
        )
    if getattr(loaded, "slug", None) != entry_point.name:
        raise ConnectorLoadError(
            f"{origin} connector '{entry_point.name}' ({entry_point.value}) declares slug "
            f"'{getattr(loaded, 'slug', None)}'; the entry point name must equal the slug"
        )
    return loaded


def _origin(entry_point: EntryPoint) -> str:
    if entry_point.value.startswith(BUILTIN_PACKAGE):
        return "Built-in"
    dist = entry_point.dist.name if entry_point.dist else "unknown distribution"
    return f"Third-party ({dist})"
