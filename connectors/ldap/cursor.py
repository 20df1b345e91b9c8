"""Incremental reads: which attribute marks a change, the filter, and the saved cursor.

- OpenLDAP: ``modifyTimestamp`` (GeneralizedTime, 1-second resolution).
- Active Directory: ``uSNChanged`` (a per-domain-controller counter); the cursor
  remembers the DC (``dsServiceName``) and a different DC means a full read.

The cursor saved after a complete run is the run's signpost: every change made
before the run started was read by it. For timestamps that is the run's start
minus ``cursor_overlap_seconds`` (which must cover the clock skew between this
host and the directory), floored to the second; for USNs the
``highestCommittedUSN`` read when the run started. The largest value *seen* is not
used: it would stay put while nothing changes, and every entry of that second
would be read again on every run.

Filters use ``>=``, so entries changed in the cursor's second (1-second resolution)
are read again; re-reading is harmless (same content hash), missing a change is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ldap3.utils.conv import escape_filter_chars

from connectors.ldap.decode import format_generalized_time, parse_generalized_time
from connectors.ldap.entry import Entry

TIMESTAMP = "modifyTimestamp"
USN = "uSNChanged"


@dataclass(frozen=True)
class ChangeTracker:
    """How one run detects changed entries and folds the cursor it will save."""

    attribute: str
    signpost: str
    server: str | None = None

    @classmethod
    def by_timestamp(cls, started_at: datetime, overlap_seconds: int) -> ChangeTracker:
        """Track ``modifyTimestamp``; the signpost is the run's start minus the overlap."""
        signpost = format_generalized_time(started_at - timedelta(seconds=overlap_seconds))
        return cls(TIMESTAMP, signpost)

    @classmethod
    def by_usn(cls, highest_committed_usn: int, server: str | None) -> ChangeTracker:
        """Track ``uSNChanged`` on one DC; the signpost is its highestCommittedUSN."""
        return cls(USN, str(highest_committed_usn), server)

    def since(self, cursor: dict[str, Any] | None) -> str | None:
        """The saved value to read changes from, or None when everything must be read."""
        if not cursor or cursor.get("attribute") != self.attribute:
            return None
        if self.attribute == USN and cursor.get("server") != self.server:
            return None
        value = cursor.get("value")
        return str(value) if value else None

    def filter(self, base_filter: str, since: str | None) -> str:
        """The stream's filter, narrowed to entries changed at or after ``since``."""
        if since is None:
            return base_filter
        return f"(&{base_filter}({self.attribute}>={escape_filter_chars(since)}))"

    def value(self, entry: Entry) -> str | None:
        """The entry's change marker."""
        return entry.text(self.attribute)

    def changed_since(self, marker: str | None, since: str | None) -> bool:
        """Whether a change marker is at or after ``since`` (True when unknown)."""
        return since is None or marker is None or self._order(marker) >= self._order(since)

    def cursor(self) -> dict[str, Any]:
        """The cursor to save when the run commits: its signpost."""
        return {"attribute": self.attribute, "value": self.signpost, "server": self.server}

    def _order(self, value: str) -> Any:
        return int(value) if self.attribute == USN else parse_generalized_time(value)
