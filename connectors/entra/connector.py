"""The Microsoft Entra ID connector: users, groups and devices through Microsoft Graph."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import ClassVar

from connectors.base.connector import ConnectionTestResult
from connectors.base.errors import PipError, SourceAuthError
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.entra.config import EntraConfig
from connectors.entra.streams import DevicesStream, GroupsStream, UsersStream
from connectors.entra.webhooks import GraphChangeNotifications
from connectors.graph.connector import GraphConnector

# The application permission each stream needs (least privileged, read only).
PERMISSIONS = {
    "users": "User.Read.All",
    "groups": "GroupMember.Read.All",
    "devices": "Device.Read.All",
}


class EntraConnector(GraphConnector[EntraConfig], GraphChangeNotifications):
    """Microsoft Entra ID (Azure AD): identity users and groups, and devices."""

    slug = "entra_id"
    title = "Microsoft Entra ID"
    category = Category.IDENTITY
    config_model = EntraConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (UsersStream, GroupsStream, DevicesStream)
    default_interval = timedelta(minutes=30)

    async def test_connection(self) -> ConnectionTestResult:
        """Get a token, then read one object of each collection, naming missing permissions."""
        began = time.perf_counter()
        checked: list[str] = []
        missing: list[str] = []
        for path, permission in PERMISSIONS.items():
            checked.append(f"read {path} ({permission})")
            try:
                await self.source_client.get_json(
                    self.reader.url(path), params={"$top": 1, "$select": "id"}
                )
            except SourceAuthError as err:
                if err.status_code != 403:
                    return _failed(err, began, checked)
                missing.append(permission)
            except PipError as err:
                return _failed(err, began, checked)
        if missing:
            message = f"The app lacks application permissions: {', '.join(missing)}"
            return ConnectionTestResult(
                ok=False,
                message=message,
                latency_ms=_ms_since(began),
                checked=checked,
                missing=missing,
                error_code=SourceAuthError.code,
            )
        return ConnectionTestResult(
            ok=True, message="Read users, groups and devices", latency_ms=_ms_since(began),
            checked=checked,
        )  # fmt: skip


def _failed(err: PipError, began: float, checked: list[str]) -> ConnectionTestResult:
    return ConnectionTestResult(
        ok=False,
        message=err.message,
        error_code=err.code,
        latency_ms=_ms_since(began),
        checked=checked,
    )


def _ms_since(began: float) -> float:
    return round((time.perf_counter() - began) * 1000, 2)
