"""Decoders for Active Directory's binary and numeric attribute formats.

- ``objectGUID``: 16 bytes in Microsoft's mixed-endian GUID layout (the first three
  fields little-endian), shown as the usual ``xxxxxxxx-xxxx-...`` string.
- ``objectSid``: a binary SID (MS-DTYP 2.4.2): revision, sub-authority count,
  a 48-bit big-endian identifier authority, then 32-bit little-endian
  sub-authorities; shown as ``S-1-5-21-...``.
- ``lastLogonTimestamp``: a FILETIME, 100-nanosecond intervals since
  1601-01-01 UTC, as a decimal string; 0 and the maximum value mean "never".
- ``modifyTimestamp``/``whenChanged``: LDAP GeneralizedTime (``YYYYmmddHHMMSS[.f]Z``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
FILETIME_NEVER = 0x7FFFFFFFFFFFFFFF
ACCOUNTDISABLE = 0x2  # userAccountControl: ADS_UF_ACCOUNTDISABLE


def guid_from_bytes(raw: bytes) -> str:
    """The string form of a binary objectGUID (Microsoft's little-endian GUID layout)."""
    if len(raw) != 16:
        raise ValueError(f"objectGUID must be 16 bytes, got {len(raw)}")
    return str(uuid.UUID(bytes_le=raw))


def sid_from_bytes(raw: bytes) -> str:
    """The ``S-1-5-...`` string form of a binary objectSid."""
    if len(raw) < 8:
        raise ValueError("objectSid is shorter than its 8-byte header")
    count = raw[1]
    if len(raw) != 8 + 4 * count:
        raise ValueError(f"objectSid claims {count} sub-authorities but has {len(raw)} bytes")
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i : 12 + 4 * i], "little") for i in range(count)]
    return "-".join(["S", str(raw[0]), str(authority), *map(str, subs)])


def sid_to_bytes(sid: str) -> bytes:
    """The binary form of an ``S-1-5-...`` SID (the inverse of ``sid_from_bytes``)."""
    parts = sid.split("-")
    if len(parts) < 3 or parts[0] != "S":
        raise ValueError(f"not a SID: {sid!r}")
    subs = [int(part) for part in parts[3:]]
    head = bytes([int(parts[1]), len(subs)]) + int(parts[2]).to_bytes(6, "big")
    return head + b"".join(sub.to_bytes(4, "little") for sub in subs)


def filetime_to_datetime(value: int) -> datetime | None:
    """A FILETIME as an aware UTC datetime; None for 0 or 'never'."""
    if value <= 0 or value >= FILETIME_NEVER:
        return None
    return FILETIME_EPOCH + timedelta(microseconds=value // 10)


def datetime_to_filetime(moment: datetime) -> int:
    """An aware datetime as a FILETIME (100-ns intervals since 1601)."""
    delta = moment.astimezone(UTC) - FILETIME_EPOCH
    return (delta.days * 86_400 + delta.seconds) * 10_000_000 + delta.microseconds * 10


def parse_generalized_time(value: str) -> datetime:
    """Parse LDAP GeneralizedTime as produced by directories (UTC, optional fraction)."""
    text = value.strip()
    if not text.endswith("Z"):
        raise ValueError(f"only UTC GeneralizedTime is supported: {value!r}")
    whole, _, fraction = text[:-1].partition(".")
    moment = datetime.strptime(whole, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    if fraction:
        moment += timedelta(microseconds=int(fraction[:6].ljust(6, "0")))
    return moment


def format_generalized_time(moment: datetime) -> str:
    """Format an aware datetime as GeneralizedTime with whole seconds."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%SZ")


def is_disabled(user_account_control: int | None) -> bool:
    """Whether userAccountControl has the ACCOUNTDISABLE bit (0x2) set."""
    return bool(user_account_control and user_account_control & ACCOUNTDISABLE)
