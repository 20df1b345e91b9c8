"""Connection settings of a Microsoft Intune tenant (a Microsoft Graph app registration)."""

from __future__ import annotations

from pydantic import ConfigDict

from connectors.graph.config import GraphConfig


class IntuneConfig(GraphConfig):
    """An app registration with DeviceManagementManagedDevices.Read.All (application)."""

    model_config = ConfigDict(extra="forbid", title="Microsoft Intune")
