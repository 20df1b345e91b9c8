"""How the ServiceNow fake renders a record: ``sysparm_fields``, display values, reference links.

Per the Table API documentation: ``sysparm_display_value`` ``false`` returns
stored values, ``true`` display values (choice labels, the referenced record's
display field, date-times in the user's time zone) and ``all`` both as
``{"display_value", "value"}``; reference fields carry a ``link`` unless
``sysparm_exclude_reference_link=true``; dot-walked fields
(``assigned_to.email``, ``parent.serial_number``) are read through the
reference; fields the table does not have are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timezone
from typing import Any

import orjson

from tests.fakes.servicenow_data import CHOICES, DISPLAY_FIELDS, REFERENCES, SN_DATETIME, CmdbData
from tests.fakes.servicenow_itsm import ITSM_CHOICES, ITSM_DISPLAY, ITSM_REFERENCES

Row = dict[str, Any]
Renderer = Callable[[Row], dict[str, Any]]
Serializer = Callable[[Row], orjson.Fragment]
_MISSING = object()


def references(table: str) -> dict[str, str]:
    """Reference fields of ``table`` -> the table they point to."""
    return ITSM_REFERENCES.get(table, REFERENCES if table.startswith("cmdb_ci") else {})


def choices(table: str) -> dict[str, dict[str, str]]:
    """Choice fields of ``table`` -> value -> label."""
    return ITSM_CHOICES.get(table, CHOICES if table.startswith("cmdb_ci") else {})


class Tables:
    """Lookups across tables, rebuilt whenever the data changes."""

    def __init__(self, data: CmdbData, display_tz: timezone) -> None:
        self.data = data
        self.display_tz = display_tz
        self._indexes: dict[str, dict[str, Row]] = {}
        self._serialized: dict[tuple[Any, ...], dict[str, orjson.Fragment]] = {}

    def index(self, table: str) -> dict[str, Row]:
        """Rows of ``table`` by sys_id; ``cmdb_ci`` and ``task`` span their child tables."""
        if table not in self._indexes:
            self._indexes[table] = {row["sys_id"]: row for row in self._rows_of(table)}
        return self._indexes[table]

    def _rows_of(self, table: str) -> list[Row]:
        if table == "cmdb_ci":
            return [
                r for t, rows in self.data.tables.items() if t.startswith("cmdb_ci_") for r in rows
            ]
        if table == "task":
            return list(self.data.tables.get("change_request", []))
        return list(self.data.tables.get(table, []))

    def renderer(
        self, table: str, names: list[str], mode: str, no_link: bool, base_url: str
    ) -> Renderer:
        """A function rendering one row of ``table`` with these fields and options."""
        fields = [(name, self._field(table, name, mode, no_link, base_url)) for name in names]

        def render(row: Row) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for name, make in fields:
                shown = make(row)
                if shown is not _MISSING:
                    out[name] = shown
            return out

        return render

    def serializer(
        self, table: str, names: list[str], mode: str, no_link: bool, base_url: str
    ) -> Serializer:
        """Like ``renderer``, as JSON, remembered per row until the data changes.

        A real instance answers from its database; the fake should not spend its
        time re-rendering the same rows page after page (benchmarks read 50,000).
        """
        render = self.renderer(table, names, mode, no_link, base_url)
        done = self._serialized.setdefault((table, tuple(names), mode, no_link, base_url), {})

        def serialize(row: Row) -> orjson.Fragment:
            key = row["sys_id"]
            if key not in done:
                done[key] = orjson.Fragment(orjson.dumps(render(row)))
            return done[key]

        return serialize

    def _field(
        self, table: str, name: str, mode: str, no_link: bool, base_url: str
    ) -> Callable[[Row], Any]:
        refs = references(table)
        read = self._reader(table, name)
        display = self._displayer(table, name)
        target = refs.get(name)

        def field(row: Row) -> Any:
            stored = read(row)
            if stored is _MISSING:
                return _MISSING
            shown = display(stored)
            if target and stored and not no_link:
                link = f"{base_url}api/now/table/{target}/{stored}"
                both = {"display_value": shown, "value": stored}
                picked = both if mode == "all" else {_pick(mode): both[_pick(mode)]}
                return {**picked, "link": link}
            if mode == "all":
                return {"display_value": shown, "value": stored}
            return shown if mode == "true" else stored

        return field

    def _reader(self, table: str, name: str) -> Callable[[Row], Any]:
        reference, _, attribute = name.partition(".")
        target = references(table).get(reference)
        if not attribute:
            return lambda row: row.get(name, _MISSING)
        if target is None:
            return lambda row: _MISSING

        def walk(row: Row) -> Any:
            found = self.index(target).get(row.get(reference, ""))
            return found.get(attribute, "") if found else ""

        return walk

    def _displayer(self, table: str, name: str) -> Callable[[Any], Any]:
        target = references(table).get(name)
        labels = choices(table).get(name)
        if target is not None:
            shown = {**DISPLAY_FIELDS, **ITSM_DISPLAY}.get(target, "name")
            return lambda value: (
                self.index(target).get(value, {}).get(shown, "") if value else value
            )
        if labels is not None:
            return lambda value: labels.get(value, value)
        if name.endswith(("_on", "_date")) and "." not in name:
            return self._local_time
        return lambda value: value

    def _local_time(self, value: Any) -> Any:
        if not value:
            return value
        stamp = datetime.strptime(value, SN_DATETIME).replace(tzinfo=UTC)
        return stamp.astimezone(self.display_tz).strftime(SN_DATETIME)


def _pick(mode: str) -> str:
    return "display_value" if mode == "true" else "value"
