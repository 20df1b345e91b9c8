"""Entra ID streams: users, groups (with direct members, nested groups included) and devices.

Membership: each group's direct members come from ``/groups/{id}/members``
(users and nested groups); the document builder resolves nesting, so
``transitiveMembers`` (which repeats every nested member at every level) is
not needed. Group delta tracks ``members``, so a membership change brings the
group back and its member list is read again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

from connectors.base.canonical import (
    CanonicalDevice,
    CanonicalGroup,
    CanonicalRecord,
    CanonicalUser,
)
from connectors.base.types import Sensitivity
from connectors.entra.config import EntraConfig
from connectors.entra.mapping import (
    DEVICE_FIELDS,
    GROUP_FIELDS,
    MANAGER_EXPAND,
    MEMBER_FIELDS,
    RESTRICTED_USER_FIELDS,
    USER_FIELDS,
    to_device,
    to_group,
    to_user,
)
from connectors.graph.paging import Raw, object_id
from connectors.graph.streams import GraphStream


class EntraStream(GraphStream):
    """A Graph stream of an Entra ID connection."""

    @property
    def config(self) -> EntraConfig:
        """The connection's settings."""
        return self.graph.config  # type: ignore[no-any-return]


class UsersStream(EntraStream):
    """``/users`` with the manager expanded; ``/users/delta`` tracks the same fields and manager."""

    name = "users"
    record_model = CanonicalUser
    list_path = "users"
    delta_path = "users/delta"
    fields = USER_FIELDS
    field_sensitivity: ClassVar[dict[str, Sensitivity]] = {
        "email": Sensitivity.INTERNAL,
        "upn": Sensitivity.INTERNAL,
        "last_sign_in": Sensitivity.CONFIDENTIAL,
        "employee_id": Sensitivity.RESTRICTED,
        "phone": Sensitivity.RESTRICTED,
    }

    def select(self) -> Sequence[str]:
        """The mapped fields; restricted ones only when the connection reads them."""
        return self.fields + (RESTRICTED_USER_FIELDS if self.config.read_restricted else ())

    def list_params(self) -> dict[str, Any]:
        """Mapped fields (sign-in activity when enabled) and the manager's mail and UPN."""
        sign_in = ["signInActivity"] if self.config.read_sign_in_activity else []
        select = [*self.select(), *sign_in]
        return {
            "$select": ",".join(select),
            "$expand": MANAGER_EXPAND,
            "$top": self.config.page_size,
        }

    def delta_params(self) -> dict[str, Any]:
        """Track the mapped fields and the manager reference (delta cannot expand)."""
        return {"$select": ",".join([*self.select(), "manager"])}

    def normalize(self, raw: Raw) -> CanonicalRecord:
        """A Graph user as a canonical user."""
        return to_user(raw)


class GroupsStream(EntraStream):
    """``/groups`` and each group's direct ``/members``; ``/groups/delta`` tracks members."""

    name = "groups"
    record_model = CanonicalGroup
    list_path = "groups"
    delta_path = "groups/delta"
    fields = GROUP_FIELDS

    def delta_params(self) -> dict[str, Any]:
        """Track the group's fields and its membership."""
        return {"$select": ",".join([*self.select(), "members"])}

    async def to_records(self, raws: list[Raw]) -> list[CanonicalRecord]:
        """Each group with its direct members, read a few groups at a time."""
        members = await asyncio.gather(*(self.members(raw) for raw in raws))
        return [
            self._normalize({**raw, "members": found})
            for raw, found in zip(raws, members, strict=True)
        ]

    async def members(self, raw: Raw) -> list[Raw]:
        """Direct members (users, groups, devices...) of one group."""
        path = f"groups/{object_id(raw, self.name)}/members"
        params = {"$select": ",".join(MEMBER_FIELDS), "$top": self.config.page_size}
        return await self.reader.all(path, params)

    def normalize(self, raw: Raw) -> CanonicalRecord:
        """A group (with ``members`` attached) as a canonical group."""
        return to_group(raw, raw.get("members") or [])


class DevicesStream(EntraStream):
    """``/devices`` (Entra registered and joined devices) into ``assets/devices``."""

    name = "devices"
    record_model = CanonicalDevice
    list_path = "devices"
    delta_path = "devices/delta"
    fields = DEVICE_FIELDS

    def normalize(self, raw: Raw) -> CanonicalRecord:
        """A Graph device as a canonical device."""
        return to_device(raw)
