"""Roles: admin configures, operator triggers syncs, viewer reads; opal reads /opal/* only.

A higher admin-API role implies the lower ones (admin ⊃ operator ⊃ viewer).
``opal`` is outside that ladder: an OPAL token cannot use the admin API, and an
admin token cannot read ``/opal/*`` (unless its value is also listed in
``PIP_OPAL_TOKENS``), so a leaked OPAL client token never configures anything
and OPAL configuration never carries an admin credential.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """The role a token carries."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"
    OPAL = "opal"


_RANK = {Role.VIEWER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name (the audit actor), its role and stored id."""

    name: str
    role: Role
    token_id: int | None = None

    def has_role(self, needed: Role) -> bool:
        """Whether this principal may act as ``needed`` (admin ⊃ operator ⊃ viewer)."""
        if needed is Role.OPAL or self.role is Role.OPAL:
            return self.role is needed
        return _RANK[self.role] >= _RANK[needed]
