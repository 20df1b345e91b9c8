"""Microsoft Intune connector: managed devices through Microsoft Graph."""

from connectors.intune.config import IntuneConfig
from connectors.intune.connector import IntuneConnector

__all__ = ["IntuneConfig", "IntuneConnector"]
