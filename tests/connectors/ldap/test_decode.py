"""AD's binary and numeric formats, checked against Microsoft's documented examples."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.ldap.decode import (
    datetime_to_filetime,
    filetime_to_datetime,
    guid_from_bytes,
    is_disabled,
    parse_generalized_time,
    sid_from_bytes,
    sid_to_bytes,
)

# MS-DTYP 2.4.2.1 example SID S-1-5-21-1004336348-1177238915-682003330-512, binary form
SID_BYTES = bytes.fromhex("010500000000000515000000dcf4dc3b833d2b46828ba62800020000")


def test_object_guid_uses_the_little_endian_layout() -> None:
    raw = bytes.fromhex("33221100554477668899aabbccddeeff")
    assert guid_from_bytes(raw) == "00112233-4455-6677-8899-aabbccddeeff"


def test_object_guid_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        guid_from_bytes(b"\x01\x02")


def test_object_sid_decodes_and_round_trips() -> None:
    sid = "S-1-5-21-1004336348-1177238915-682003330-512"
    assert sid_from_bytes(SID_BYTES) == sid
    assert sid_to_bytes(sid) == SID_BYTES


def test_a_truncated_sid_is_refused() -> None:
    with pytest.raises(ValueError, match="sub-authorities"):
        sid_from_bytes(SID_BYTES[:-2])


def test_filetime_is_100ns_since_1601() -> None:
    assert filetime_to_datetime(116444736000000000) == datetime(1970, 1, 1, tzinfo=UTC)
    moment = datetime(2026, 11, 20, 8, 30, 15, 123456, tzinfo=UTC)
    assert filetime_to_datetime(datetime_to_filetime(moment)) == moment
    assert filetime_to_datetime(0) is None
    assert filetime_to_datetime(0x7FFFFFFFFFFFFFFF) is None


def test_account_disable_bit() -> None:
    assert is_disabled(514) and is_disabled(2)
    assert not is_disabled(512) and not is_disabled(None) and not is_disabled(66048)


def test_generalized_time_with_and_without_fraction() -> None:
    assert parse_generalized_time("20261122032334Z") == datetime(
        2026, 11, 22, 3, 23, 34, tzinfo=UTC
    )
    assert parse_generalized_time("20261122032334.5Z").microsecond == 500000
