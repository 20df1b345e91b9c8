"""Jira Assets (Cloud): schema discovery, AQL paging and mapping objects onto devices.

Follows the Assets REST API (developer.atlassian.com/cloud/assets/rest):
``GET objectschema/list`` (``startAt``/``maxResults``/``isLast``),
``GET objectschema/{id}/objecttypes/flat``, ``GET objecttype/{id}/attributes``
and ``POST object/aql?startAt&maxResults&includeAttributes=true`` with
``{"qlQuery": ...}``, paged until ``isLast``. An object's attributes carry
only ``objectTypeAttributeId``; names come from the discovered attributes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from connectors.base.canonical import CanonicalDevice, DeviceStatus
from connectors.base.errors import FatalSourceError
from connectors.base.http import SourceClient, decode_json
from connectors.jira.config import JiraConfig

# Assets status categories (0 inactive, 1 active, 2 pending) and common status names.
STATUS_NAMES: dict[str, DeviceStatus] = {
    "in use": "active",
    "running": "active",
    "active": "active",
    "in stock": "inactive",
    "stock": "inactive",
    "in repair": "maintenance",
    "maintenance": "maintenance",
    "retired": "retired",
    "disposed": "retired",
    "stolen": "retired",
}
DEVICE_TYPES = {
    "laptop": "laptop",
    "desktop": "desktop",
    "server": "server",
    "virtual": "virtual_machine",
}


@dataclass
class Schema:
    """Object types by id, and attribute names by type id and attribute id."""

    types: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)

    def device_type_ids(self, names: list[str]) -> list[str]:
        """Ids of the object types with these names (case-insensitive)."""
        wanted = {name.lower() for name in names}
        return [tid for tid, name in self.types.items() if name.lower() in wanted]


async def discover_schema(client: SourceClient, config: JiraConfig) -> Schema:
    """Every object type of every schema, and the attributes of the device types."""
    schema = Schema()
    async for rows in paged_get(
        client, f"{config.assets_base}/objectschema/list", config.page_size
    ):
        for row in rows:
            for kind in await _list(
                client, f"{config.assets_base}/objectschema/{row['id']}/objecttypes/flat"
            ):
                schema.types[str(kind["id"])] = str(kind.get("name", ""))
    for type_id in schema.device_type_ids(config.device_object_types):
        url = f"{config.assets_base}/objecttype/{type_id}/attributes"
        schema.attributes[type_id] = {
            str(a["id"]): str(a.get("name", "")) for a in await _list(client, url)
        }
    return schema


async def paged_get(
    client: SourceClient, url: str, size: int
) -> AsyncIterator[list[dict[str, Any]]]:
    """A ``startAt``/``maxResults``/``isLast`` paged GET list."""
    start = 0
    while True:
        body = (await client.get_json(url, params={"startAt": start, "maxResults": size})).body
        rows = values(body, url)
        yield rows
        if body.get("isLast", True) or not rows:
            return
        start += len(rows)


async def aql_pages(
    client: SourceClient, config: JiraConfig, query: str
) -> AsyncIterator[list[dict[str, Any]]]:
    """Objects matching an AQL query, page by page until ``isLast``."""
    url, start = f"{config.assets_base}/object/aql", 0
    while True:
        params = {"startAt": start, "maxResults": config.page_size, "includeAttributes": "true"}
        response = await client.request("POST", url, params=params, json={"qlQuery": query})
        body = _decode(response)
        rows = values(body, url)
        yield rows
        if body.get("isLast") is True or not rows:
            return
        start += len(rows)


def aql_for(schema: Schema, config: JiraConfig) -> str:
    """The AQL selecting the device object types."""
    names = sorted(
        {schema.types[tid] for tid in schema.device_type_ids(config.device_object_types)}
    )
    if not names:
        raise FatalSourceError(
            "Jira Assets has none of the device object types "
            f"{', '.join(config.device_object_types)}"
        )
    quoted = ", ".join('"' + name.replace('"', '\\"') + '"' for name in names)
    return f"objectType IN ({quoted})"


def values(body: Any, url: str) -> list[dict[str, Any]]:
    """The ``values`` list of a paged Assets answer."""
    rows = body.get("values") if isinstance(body, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "id" in r for r in rows):
        raise FatalSourceError(
            f"Jira Assets answered without a list of values for {url.rsplit('/v1/', 1)[-1]}"
        )
    return rows


def attributes(obj: dict[str, Any], schema: Schema) -> dict[str, list[dict[str, Any]]]:
    """An object's attribute values by attribute name."""
    type_id = str((obj.get("objectType") or {}).get("id", ""))
    names = schema.attributes.get(type_id, {})
    found: dict[str, list[dict[str, Any]]] = {}
    for attribute in obj.get("attributes") or []:
        name = names.get(str(attribute.get("objectTypeAttributeId")))
        if name:
            found[name] = [
                v for v in attribute.get("objectAttributeValues") or [] if isinstance(v, dict)
            ]
    return found


def device(obj: dict[str, Any], schema: Schema, config: JiraConfig) -> CanonicalDevice:
    """Map one Assets object onto a canonical device through the attribute mapping."""
    attrs, mapping = attributes(obj, schema), config.attributes

    def text(name: str | None) -> str | None:
        return _first(attrs.get(name or ""), "value") if name else None

    kind = str((obj.get("objectType") or {}).get("name", ""))
    status = _status(attrs.get(mapping.status or ""))
    return CanonicalDevice(
        source_id=str(obj["id"]),
        serial_number=text(mapping.serial_number),
        asset_tag=text(mapping.asset_tag),
        hostname=text(mapping.hostname) or _label(obj),
        device_type=next((v for k, v in DEVICE_TYPES.items() if k in kind.lower()), "other"),
        os=text(mapping.os),
        os_version=text(mapping.os_version),
        manufacturer=text(mapping.manufacturer),
        model=text(mapping.model),
        location=_first(attrs.get(mapping.location or ""), "displayValue")
        if mapping.location
        else None,
        owner=_owner(attrs.get(mapping.owner or "")) if mapping.owner else None,
        status=STATUS_NAMES.get((status or "").lower(), "unknown"),
        install_status=status,
        cmdb_class=kind or None,
        extra={"object_key": obj["objectKey"]} if obj.get("objectKey") else {},
    )


def references(obj: dict[str, Any], schema: Schema) -> list[tuple[str, str]]:
    """(attribute name, referenced object id) of every reference attribute value."""
    found = []
    for name, items in attributes(obj, schema).items():
        for item in items:
            ref = item.get("referencedObject")
            if isinstance(ref, dict) and ref.get("id") is not None:
                found.append((name, str(ref["id"])))
    return found


def _first(items: list[dict[str, Any]] | None, key: str) -> str | None:
    for item in items or []:
        value = item.get(key, item.get("value"))
        if value not in (None, ""):
            return str(value)
    return None


def _owner(items: list[dict[str, Any]] | None) -> str | None:
    for item in items or []:
        user = item.get("user")
        email = user.get("emailAddress") if isinstance(user, dict) else None
        if email:
            return str(email)
        shown = item.get("displayValue") or item.get("value")
        if isinstance(shown, str) and "@" in shown:
            return shown
    return None


def _status(items: list[dict[str, Any]] | None) -> str | None:
    for item in items or []:
        status = item.get("status")
        if isinstance(status, dict) and status.get("name"):
            return str(status["name"])
    return _first(items, "displayValue")


def _label(obj: dict[str, Any]) -> str | None:
    label = obj.get("label")
    return str(label) if label else None


async def _list(client: SourceClient, url: str) -> list[dict[str, Any]]:
    body = (await client.get_json(url)).body
    if not isinstance(body, list) or not all(isinstance(r, dict) and "id" in r for r in body):
        raise FatalSourceError(
            f"Jira Assets answered without a list for {url.rsplit('/v1/', 1)[-1]}"
        )
    return body


def _decode(response: Any) -> Any:
    body = decode_json("Jira Assets", response)
    if not isinstance(body, dict):
        raise FatalSourceError("Jira Assets answered the AQL search without an object")
    return body
