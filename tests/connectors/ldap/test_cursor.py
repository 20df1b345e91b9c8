"""Change tracking: the filter, the saved cursor and when a cursor cannot be used."""

from __future__ import annotations

from datetime import UTC, datetime

from connectors.ldap.cursor import ChangeTracker

START = datetime(2026, 11, 22, 10, 0, 30, 700000, tzinfo=UTC)


def test_timestamp_cursor_is_the_run_start_minus_the_overlap() -> None:
    tracker = ChangeTracker.by_timestamp(START, overlap_seconds=60)
    assert tracker.cursor()["value"] == "20261122095930Z"
    since = tracker.since({"attribute": "modifyTimestamp", "value": "20261122090000Z"})
    assert tracker.filter("(objectClass=user)", since) == (
        "(&(objectClass=user)(modifyTimestamp>=20261122090000Z))"
    )
    assert tracker.filter("(objectClass=user)", None) == "(objectClass=user)"


def test_usn_cursor_is_bound_to_its_domain_controller() -> None:
    tracker = ChangeTracker.by_usn(4711, "CN=NTDS Settings,CN=DC1")
    saved = tracker.cursor()
    assert saved == {
        "attribute": "uSNChanged",
        "value": "4711",
        "server": "CN=NTDS Settings,CN=DC1",
    }
    assert tracker.since(saved) == "4711"
    other_dc = ChangeTracker.by_usn(9000, "CN=NTDS Settings,CN=DC2")
    assert other_dc.since(saved) is None  # another DC's USNs mean nothing: read all


def test_a_cursor_of_another_kind_means_a_full_read() -> None:
    tracker = ChangeTracker.by_timestamp(START, 0)
    assert tracker.since({"attribute": "uSNChanged", "value": "12"}) is None
    assert tracker.since(None) is None


def test_changed_since_compares_values_not_strings() -> None:
    tracker = ChangeTracker.by_usn(100, None)
    assert tracker.changed_since("100", "99")
    assert not tracker.changed_since("99", "100")
    assert tracker.changed_since("1000", "999")  # "1000" < "999" as strings
