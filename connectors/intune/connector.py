"""The Microsoft Intune connector: managed devices with compliance through Microsoft Graph."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import ClassVar

from connectors.base.connector import ConnectionTestResult
from connectors.base.errors import PipError, SourceAuthError
from connectors.base.stream import Stream
from connectors.base.types import Category
from connectors.graph.connector import GraphConnector
from connectors.intune.config import IntuneConfig
from connectors.intune.streams import PERMISSION, ManagedDevicesStream


class IntuneConnector(GraphConnector[IntuneConfig]):
    """Microsoft Intune: managed devices, their compliance, management and ownership."""

    slug = "intune"
    title = "Microsoft Intune"
    category = Category.MDM
    config_model = IntuneConfig
    streams: ClassVar[tuple[type[Stream], ...]] = (ManagedDevicesStream,)
    default_interval = timedelta(hours=1)

    async def test_connection(self) -> ConnectionTestResult:
        """Get a token and read one managed device, naming the permission when it is missing."""
        began, checked = time.perf_counter(), [f"read managed devices ({PERMISSION})"]
        url = self.reader.url(ManagedDevicesStream.path)
        try:
            await self.source_client.get_json(url, params={"$top": 1, "$select": "id"})
        except SourceAuthError as err:
            if err.status_code != 403:
                return _result(err.message, began, checked, err.code)
            message = f"The app lacks the application permission {PERMISSION}"
            return _result(message, began, checked, err.code, missing=[PERMISSION])
        except PipError as err:
            return _result(err.message, began, checked, err.code)
        return _result("Read managed devices", began, checked, None)


def _result(
    message: str,
    began: float,
    checked: list[str],
    code: str | None,
    missing: list[str] | None = None,
) -> ConnectionTestResult:
    return ConnectionTestResult(
        ok=code is None,
        message=message,
        latency_ms=round((time.perf_counter() - began) * 1000, 2),
        checked=checked,
        missing=missing or [],
        error_code=code,
    )
