"""One directory entry as read from a search: the DN and its raw attribute values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from connectors.base.errors import FatalSourceError


@dataclass(frozen=True)
class Entry:
    """A search result entry; attribute names are matched case-insensitively."""

    dn: str
    values: Mapping[str, Sequence[bytes]]

    @classmethod
    def from_response(cls, dn: str, raw_attributes: Mapping[str, Sequence[bytes]]) -> Entry:
        """Build from ldap3's ``dn`` and ``raw_attributes`` (names lower-cased here)."""
        return cls(dn, {name.lower(): list(vals) for name, vals in raw_attributes.items() if vals})

    def binary(self, name: str) -> bytes | None:
        """The first value of an attribute, as bytes."""
        found = self.values.get(name.lower())
        return found[0] if found else None

    def text(self, name: str) -> str | None:
        """The first value of an attribute as text (None when absent or blank)."""
        raw = self.binary(name)
        if raw is None:
            return None
        value = self._decode(name, raw).strip()
        return value or None

    def texts(self, name: str) -> list[str]:
        """Every value of an attribute as text."""
        return [self._decode(name, raw) for raw in self.values.get(name.lower(), ())]

    def first_text(self, names: Sequence[str]) -> str | None:
        """The first attribute of ``names`` that has a value."""
        for name in names:
            value = self.text(name)
            if value is not None:
                return value
        return None

    def integer(self, name: str) -> int | None:
        """The first value of an attribute as an integer."""
        value = self.text(name)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError as err:
            raise FatalSourceError(
                f"{name} of {self.dn} is not an integer", code="ldap_bad_value"
            ) from err

    def _decode(self, name: str, raw: bytes) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise FatalSourceError(
                f"{name} of {self.dn} is not UTF-8 text", code="ldap_bad_value"
            ) from err
